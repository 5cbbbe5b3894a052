-- Apply a decision about another region's session to this region's copy, as a
-- compare-and-set on the local bytes the caller decided on, then republish the change
-- on the local fan-out channel (local WebSocket clients) and record the home's
-- sequence number applied.
-- KEYS[1] session key, KEYS[2] applied-sequence key of the home
-- ARGV[1] the new encoded state ('' = delete the copy), ARGV[2] keep-until epoch ms
-- ARGV[3] fan-out channel, ARGV[4] message to publish
-- ARGV[5] the home's sequence number ('' when not from the log)
-- ARGV[6] the local bytes the decision was made on ('' = no copy)
-- ARGV[7] 'skip' to only record the sequence number
-- Returns 1 if the copy changed, 0 if not, -1 if the copy changed meanwhile (decide again).
if ARGV[5] ~= '' then
  local last = tonumber(redis.call('GET', KEYS[2]) or '0')
  if tonumber(ARGV[5]) > last then redis.call('SET', KEYS[2], ARGV[5]) end
end
if ARGV[7] == 'skip' then return 0 end
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[6] then return -1 end
if ARGV[1] == '' then
  if cur == '' then return 0 end
  redis.call('DEL', KEYS[1])
else
  if cur == ARGV[1] then return 0 end
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
