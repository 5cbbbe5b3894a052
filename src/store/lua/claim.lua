-- Lease due deadlines: entries with score <= now move to now + lease and are
-- returned; a claimer that dies lets its lease run out and another claims again.
-- KEYS[1] deadline zset; ARGV[1] now ms, ARGV[2] lease-until ms, ARGV[3] limit
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], id)
end
return due
