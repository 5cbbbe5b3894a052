-- Delete a session: remove state and deadline, bump the sequence, publish the
-- deletion envelope, and (if it existed and audit is on) append `session_deleted`.
-- (`lib.lua` is prepended: envelope, next_seq.)
-- KEYS[1] session key, KEYS[2] deadline zset, KEYS[3] sequence key, KEYS[4] outbox,
-- KEYS[5] relay log
-- ARGV[1] session id, ARGV[2] fan-out channel, ARGV[3] envelope body (msgpack)
-- ARGV[4] '1' when audit is on, ARGV[5] handling region, ARGV[6] time epoch ms
-- ARGV[7] '1' when the relay log is on, ARGV[8] its cap, ARGV[9] who asked (audit)
-- Returns 1 if the session existed, else 0 (local watchers are told either way; the
-- audit outbox and the relay log only hear of real deletions).
local existed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local seq = next_seq(KEYS[3], ARGV[6])
local env = envelope(seq, ARGV[3])
redis.call('PUBLISH', ARGV[2], env)
if existed == 1 and ARGV[4] == '1' then
  redis.call('XADD', KEYS[4], '*', 'q', seq, 'b', ARGV[3], 'o', ARGV[5], 't', ARGV[6], 'a', ARGV[9])
end
if existed == 1 and ARGV[7] == '1' then
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[8], string.format('%d-0', seq), 'e', env)
end
return existed
