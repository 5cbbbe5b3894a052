-- Commit one state change atomically: compare-and-set on version and incarnation,
-- write with its lifetime, maintain the index of this home's sessions (multi-region),
-- the deadline index, bump the region sequence, publish the fan-out envelope, wake
-- schedulers for an earlier deadline, append the audit record and the relay log entry.
-- Every check that can fail runs before the first write: a refused or failed commit
-- has written nothing. (`lib.lua` is prepended.)
-- KEYS[1] session key, KEYS[2] deadline zset, KEYS[3] sequence key, KEYS[4] audit outbox
-- stream, KEYS[5] relay log stream, KEYS[6] index bucket, KEYS[7] index digest,
-- KEYS[8] outbox size estimate, KEYS[9] relay log size estimate
-- (ownership, issue 11) KEYS[6]/KEYS[7] are the index of the home the new state names;
-- KEYS[10] index bucket, KEYS[11] index digest of the home the replaced state named
-- (the same as 6 and 7 unless this commit moves the home), KEYS[12] this region's
-- ownership lease (present while a majority of regions vouch for it)
-- ARGV[1] expected version (0 = the session must not exist)
-- ARGV[2] expected incarnation (created_at; '' when creating)
-- ARGV[3] encoded state (`store::codec`: format byte, u64 BE version, ...)
-- ARGV[4] keep-until epoch ms (PXAT)
-- ARGV[5] deadline epoch ms, or '' for none
-- ARGV[6] session id
-- ARGV[7] fan-out channel
-- ARGV[8] envelope body up to the state (msgpack: the body is ARGV[8] .. ARGV[3] ..
--         ARGV[21], so the state travels once)
-- ARGV[9] deadline wake channel
-- ARGV[10] '1' to append the audit record to the outbox (same atomic step), else '0'
-- ARGV[11] the region that handled the request, ARGV[12] commit time epoch ms
-- ARGV[13] '1' when multi-region: append the envelope to the relay log and keep the
--          index entry ARGV[19] in bucket ARGV[18]
-- ARGV[14] relay log cap (entries), ARGV[15] relay log cap (bytes)
-- ARGV[16] outbox cap (entries), ARGV[17] outbox cap (bytes)
-- ARGV[18] index bucket, ARGV[19] index entry
-- ARGV[20] who asked (`role:subject`, '' for the server or the open mode), for the audit
--          record
-- ARGV[21] envelope body after the state
-- ARGV[22] the stored value the change was computed from, when the writer holds it
--          ('' otherwise): then the compare-and-set is on the whole value
-- ARGV[23] expected ownership epoch ('' when creating) (ownership, issue 11)
-- ARGV[24] '1' when commits need the ownership lease KEYS[12] (fencing), else '0'
-- Returns {'OK', seq, outbox entries trimmed, relay entries trimmed} | {'EXISTS'} |
-- {'NOTFOUND'} | {'CONFLICT', actual_version, current state} | {'BROKEN', why} |
-- {'FENCED'} (a conflict carries the stored value, so a writer that started from a
-- stale copy retries without reading it again)
if ARGV[24] == '1' and redis.call('EXISTS', KEYS[12]) == 0 then return {'FENCED'} end
-- Keys whose first use is a read are not checked with TYPE (a call each): the read
-- itself fails on a wrong type, before any write, and says so (`failed`).
local cur = redis.pcall('GET', KEYS[1])
if failed(cur) then return {'BROKEN', 'wrong type at ' .. KEYS[1]} end
local expected = tonumber(ARGV[1])
if expected == 0 then
  if cur then return {'EXISTS'} end
else
  if not cur then return {'NOTFOUND'} end
  local actual = state_version(cur)
  if actual ~= expected then return {'CONFLICT', actual, cur} end
  if ARGV[22] ~= '' then
    -- The writer holds the value it started from: anything else stored now is a
    -- conflict, even at the same version (another incarnation, another ownership
    -- epoch, or a Redis gone back to an older snapshot and written again), and no
    -- decoding is needed.
    if cur ~= ARGV[22] then return {'CONFLICT', actual, cur} end
  elseif state_created(cur) ~= tonumber(ARGV[2]) then
    -- The same version of another incarnation (deleted and created again meanwhile).
    return {'CONFLICT', actual, cur}
  elseif state_epoch(cur) ~= (tonumber(ARGV[23]) or 0) then
    -- The same version at another ownership epoch (a takeover replaced it meanwhile).
    return {'CONFLICT', actual, cur}
  end
end
local audit, relay = ARGV[10] == '1', ARGV[13] == '1'
-- With a deadline, the deadline index is read (its first entry) before the writes.
local first
local checks = {}
if ARGV[5] == '' then
  table.insert(checks, {KEYS[2], 'zset'})
else
  first = redis.pcall('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  if failed(first) then return {'BROKEN', 'wrong type at ' .. KEYS[2]} end
end
if audit then
  table.insert(checks, {KEYS[4], 'stream'})
  table.insert(checks, {KEYS[8], 'hash'})
end
if relay then
  table.insert(checks, {KEYS[5], 'stream'})
  table.insert(checks, {KEYS[6], 'hash'})
  table.insert(checks, {KEYS[7], 'hash'})
  table.insert(checks, {KEYS[9], 'hash'})
  table.insert(checks, {KEYS[10], 'hash'})
  table.insert(checks, {KEYS[11], 'hash'})
end
local wrong = wrong_type(checks)
if wrong then return {'BROKEN', 'wrong type at ' .. wrong} end
-- Writes only from here on; the sequence is the first (it writes nothing when it fails).
local seq = take_seq(KEYS[3], relay and KEYS[5] or nil, ARGV[12])
if not seq then return {'BROKEN', 'the sequence at ' .. KEYS[3] .. ' is not a number'} end
redis.call('SET', KEYS[1], ARGV[3], 'PXAT', ARGV[4])
if relay then
  if KEYS[10] ~= KEYS[6] then index_put(KEYS[10], KEYS[11], ARGV[18], ARGV[6], '') end
  index_put(KEYS[6], KEYS[7], ARGV[18], ARGV[6], ARGV[19])
end
if ARGV[5] == '' then
  redis.call('ZREM', KEYS[2], ARGV[6])
else
  local due = tonumber(ARGV[5])
  -- The score as it came (a Lua number would be printed with %.17g to pass it on).
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
  if first[2] == nil or due < tonumber(first[2]) then
    redis.call('PUBLISH', ARGV[9], ARGV[5])
  end
end
local body = ARGV[8] .. ARGV[3] .. ARGV[21]
local env = envelope(seq, body)
redis.call('PUBLISH', ARGV[7], env)
local ob_trimmed, rl_trimmed = 0, 0
if audit then
  ob_trimmed = capped_xadd(KEYS[4], KEYS[8], '*',
    {'q', string.format('%d', seq), 'b', body, 'o', ARGV[11], 't', ARGV[12], 'a', ARGV[20]},
    ARGV[16], ARGV[17])
end
if relay then
  rl_trimmed = capped_xadd(KEYS[5], KEYS[9], string.format('%d-0', seq), {'e', env},
    ARGV[14], ARGV[15])
end
return {'OK', seq, ob_trimmed, rl_trimmed}
