-- Remove index entries of sessions whose state is gone (expired) from one bucket of a
-- home's index, keeping the digest in step. An entry whose key exists stays.
-- (`lib.lua` is prepended.)
-- KEYS[1] index bucket, KEYS[2] index digest, KEYS[3..] the session keys of ARGV[2..]
-- ARGV[1] bucket, ARGV[2..] session ids
-- Returns the number of entries removed.
local removed = 0
for i = 2, #ARGV do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 and redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then
    index_put(KEYS[1], KEYS[2], ARGV[1], ARGV[i], '')
    removed = removed + 1
  end
end
return removed
