-- Commit one state change atomically: compare-and-set on version, write with its
-- lifetime, maintain the deadline index, bump the region sequence, publish the
-- fan-out envelope, wake schedulers for an earlier deadline, append the audit record
-- and the relay log entry. (`lib.lua` is prepended: state_version, envelope, next_seq.)
-- KEYS[1] session key, KEYS[2] deadline zset, KEYS[3] sequence key, KEYS[4] audit outbox
-- stream, KEYS[5] relay log stream
-- ARGV[1] expected version (0 = the session must not exist)
-- ARGV[2] encoded state (format byte, u64 BE version, msgpack)
-- ARGV[3] keep-until epoch ms (PXAT)
-- ARGV[4] deadline epoch ms, or '' for none
-- ARGV[5] session id
-- ARGV[6] fan-out channel
-- ARGV[7] envelope body (msgpack)
-- ARGV[8] deadline wake channel
-- ARGV[9] '1' to append the audit record to the outbox (same atomic step), else '0'
-- ARGV[10] the region that handled the request, ARGV[11] commit time epoch ms
-- ARGV[12] '1' to append the envelope to the relay log (multi-region), ARGV[13] its cap
-- ARGV[14] who asked (`role:subject`, '' for the server or the open mode), for the audit record
-- Returns {'OK', seq} | {'EXISTS'} | {'NOTFOUND'} | {'CONFLICT', actual_version}
local cur = redis.call('GET', KEYS[1])
local expected = tonumber(ARGV[1])
if expected == 0 then
  if cur then return {'EXISTS'} end
else
  if not cur then return {'NOTFOUND'} end
  local actual = state_version(cur)
  if actual ~= expected then return {'CONFLICT', actual} end
end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[2], ARGV[5])
else
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  local due = tonumber(ARGV[4])
  redis.call('ZADD', KEYS[2], due, ARGV[5])
  if first[2] == nil or due < tonumber(first[2]) then
    redis.call('PUBLISH', ARGV[8], ARGV[4])
  end
end
local seq = next_seq(KEYS[3], ARGV[11])
local env = envelope(seq, ARGV[7])
redis.call('PUBLISH', ARGV[6], env)
if ARGV[9] == '1' then
  redis.call('XADD', KEYS[4], '*', 'q', seq, 'b', ARGV[7], 'o', ARGV[10], 't', ARGV[11], 'a', ARGV[14])
end
if ARGV[12] == '1' then
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[13], string.format('%d-0', seq), 'e', env)
end
return {'OK', seq}
