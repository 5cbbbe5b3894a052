-- Fixed-window counter, one round trip. KEYS[1] window key; ARGV[1] window ms.
-- Returns {count, ms until the window resets}.
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
