-- Count one more live session of a client unless it has `max` already (one round trip,
-- atomic: concurrent creates cannot both take the last slot).
-- KEYS[1] the client's sorted set (member: session id, score: when it stops counting)
-- ARGV[1] now epoch ms, ARGV[2] until epoch ms, ARGV[3] session id, ARGV[4] max (0: none)
-- Returns {1, live before} when counted, {0, live} when the client is at its limit.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local live = redis.call('ZCARD', KEYS[1])
local max = tonumber(ARGV[4])
if max > 0 and live >= max then return {0, live} end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return {1, live}
