-- Take or renew a lease: KEYS[1] lease key, ARGV[1] holder id, ARGV[2] lease ms.
-- Returns 1 when the caller holds the lease afterwards.
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
