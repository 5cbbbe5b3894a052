-- Delete a session: remove state, index entry and deadline, bump the sequence, publish
-- the deletion envelope, append `session_deleted` to the outbox (audit on) and the relay
-- log (multi-region). Deleting a session that does not exist changes nothing but tells
-- local watchers: no sequence number is used, so followers never see a gap for it.
-- Every check that can fail runs before the first write. (`lib.lua` is prepended.)
-- KEYS[1] session key, KEYS[2] deadline zset, KEYS[3] sequence key, KEYS[4] outbox,
-- KEYS[5] relay log, KEYS[6] index bucket, KEYS[7] index digest, KEYS[8] outbox size
-- estimate, KEYS[9] relay log size estimate
-- ARGV[1] session id, ARGV[2] fan-out channel, ARGV[3] envelope body (msgpack)
-- ARGV[4] '1' when audit is on, ARGV[5] handling region, ARGV[6] time epoch ms
-- ARGV[7] '1' when multi-region (relay log and index), ARGV[8] relay log cap (entries),
-- ARGV[9] relay log cap (bytes), ARGV[10] outbox cap (entries), ARGV[11] outbox cap
-- (bytes), ARGV[12] index bucket, ARGV[13] who asked (audit)
-- (ownership, issue 11) KEYS[10] this region's ownership lease, ARGV[14] '1' when
-- deletions need it (fencing)
-- Returns {1 if the session existed else 0, outbox trimmed, relay trimmed} |
-- {'BROKEN', why} | {'FENCED'}
if ARGV[14] == '1' and redis.call('EXISTS', KEYS[10]) == 0 then return {'FENCED'} end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('PUBLISH', ARGV[2], envelope(0, ARGV[3]))
  return {0, 0, 0}
end
local audit, relay = ARGV[4] == '1', ARGV[7] == '1'
local checks = {{KEYS[2], 'zset'}, {KEYS[3], 'string'}}
if audit then
  table.insert(checks, {KEYS[4], 'stream'})
  table.insert(checks, {KEYS[8], 'hash'})
end
if relay then
  table.insert(checks, {KEYS[5], 'stream'})
  table.insert(checks, {KEYS[6], 'hash'})
  table.insert(checks, {KEYS[7], 'hash'})
  table.insert(checks, {KEYS[9], 'hash'})
end
local wrong = wrong_type(checks)
if wrong then return {'BROKEN', 'wrong type at ' .. wrong} end
-- Writes only from here on; the sequence is the first (it writes nothing when it fails).
local seq = take_seq(KEYS[3], relay and KEYS[5] or nil, ARGV[6])
if not seq then return {'BROKEN', 'the sequence is not a number'} end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if relay then index_put(KEYS[6], KEYS[7], ARGV[12], ARGV[1], '') end
local env = envelope(seq, ARGV[3])
redis.call('PUBLISH', ARGV[2], env)
local ob_trimmed, rl_trimmed = 0, 0
if audit then
  ob_trimmed = capped_xadd(KEYS[4], KEYS[8], '*',
    {'q', string.format('%d', seq), 'b', ARGV[3], 'o', ARGV[5], 't', ARGV[6], 'a', ARGV[13]},
    ARGV[10], ARGV[11])
end
if relay then
  rl_trimmed = capped_xadd(KEYS[5], KEYS[9], string.format('%d-0', seq), {'e', env},
    ARGV[8], ARGV[9])
end
return {1, ob_trimmed, rl_trimmed}
