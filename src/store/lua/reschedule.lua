-- Set a session's deadline iff it is still at the version the caller looked at.
-- (`lib.lua` is prepended: state_version.)
-- KEYS[1] session key, KEYS[2] deadline zset
-- ARGV[1] version, ARGV[2] deadline ms or '', ARGV[3] session id
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('ZREM', KEYS[2], ARGV[3])
  return 0
end
if state_version(cur) ~= tonumber(ARGV[1]) then return 0 end
if ARGV[2] == '' then
  redis.call('ZREM', KEYS[2], ARGV[3])
else
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
end
return 1
