-- Apply a decision about another region's session to this region's copy, as a
-- compare-and-set on the local bytes the caller decided on, keep the index of that
-- home's sessions here in step, republish the change on the local fan-out channel
-- (local WebSocket clients) and record the home's sequence number applied.
-- (`lib.lua` is prepended.)
-- KEYS[1] session key, KEYS[2] applied-sequence key of the home, KEYS[3] its
-- fingerprint key, KEYS[4] index bucket of the incoming state's home, KEYS[5] its
-- digest, KEYS[6] index bucket of the local copy's home, KEYS[7] its digest (the same
-- as 4 and 5 unless the copy here is another home's incarnation of the id)
-- ARGV[1] the new encoded state ('' = delete the copy), ARGV[2] keep-until epoch ms
-- ARGV[3] fan-out channel, ARGV[4] message to publish
-- ARGV[5] the home's sequence number ('' when not from the log), ARGV[6] the
--         fingerprint of that log entry
-- ARGV[7] the local bytes the decision was made on ('' = no copy)
-- ARGV[8] 'skip' to only record the sequence number, else 'take'
-- ARGV[9] session id, ARGV[10] index bucket, ARGV[11] index entry of the new state
-- (ownership, issue 11) KEYS[8] this region's deadline zset, ARGV[12] the session's
-- deadline here when the copy changes: epoch ms (the new state is homed here: a
-- re-home or a takeover handed it to this region), '-' none, '' leave the index alone
-- ARGV[13] the deadline wake channel
-- Returns 1 if the copy changed, 2 if only its index entry did (a stale entry, or one
-- missing), 0 if nothing changed, -1 if the copy changed meanwhile (decide again).
if ARGV[5] ~= '' then
  local last = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
  if tonumber(ARGV[5]) > last then
    redis.call('SET', KEYS[2], ARGV[5])
    redis.call('SET', KEYS[3], ARGV[6])
  end
end
if ARGV[8] == 'skip' then return 0 end
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[7] then return -1 end
local indexed = false
if KEYS[6] ~= KEYS[4] then indexed = index_put(KEYS[6], KEYS[7], ARGV[10], ARGV[9], '') end
indexed = index_put(KEYS[4], KEYS[5], ARGV[10], ARGV[9], ARGV[11]) or indexed
local unchanged = indexed and 2 or 0
if ARGV[1] == '' then
  if cur == '' then return unchanged end
  redis.call('DEL', KEYS[1])
else
  if cur == ARGV[1] then return unchanged end
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
end
if ARGV[12] == '-' then
  redis.call('ZREM', KEYS[8], ARGV[9])
elseif ARGV[12] ~= '' then
  redis.call('ZADD', KEYS[8], tonumber(ARGV[12]), ARGV[9])
  redis.call('PUBLISH', ARGV[13], ARGV[12])
end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
