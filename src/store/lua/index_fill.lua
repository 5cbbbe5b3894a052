-- Give a stored session its index entry (sessions stored before the index existed),
-- iff the stored bytes are still those the entry was computed from.
-- (`lib.lua` is prepended.)
-- KEYS[1] session key, KEYS[2] index bucket, KEYS[3] index digest
-- ARGV[1] the bytes read, ARGV[2] bucket, ARGV[3] session id, ARGV[4] entry
-- Returns 1 when the entry was written or already right, 0 when the state changed.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
index_put(KEYS[2], KEYS[3], ARGV[2], ARGV[3], ARGV[4])
return 1
