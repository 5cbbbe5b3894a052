-- Apply an envelope from another region's relay to this region's copy: only if newer
-- (unless forced by reconciliation), then publish it on the local fan-out channel so
-- local WebSocket clients get it, and record the home's sequence number applied.
-- KEYS[1] session key, KEYS[2] applied-sequence key of the home
-- ARGV[1] version, ARGV[2] encoded state ('' for a deletion), ARGV[3] keep-until ms
-- ARGV[4] '1' for a deletion, ARGV[5] fan-out channel, ARGV[6] message to publish
-- ARGV[7] the home's sequence number ('' when not from the log), ARGV[8] '1' to force
-- ARGV[9] with force: the bytes the caller saw locally ('' = none); the forced write
-- only happens if the copy is still exactly that (a compare-and-set).
-- Returns 1 if the copy changed, else 0.
local applied = 0
local cur = redis.call('GET', KEYS[1])
if ARGV[4] == '1' then
  if cur and (ARGV[8] ~= '1' or cur == ARGV[9]) then
    redis.call('DEL', KEYS[1])
    applied = 1
  end
else
  local newer = true
  if ARGV[8] == '1' then
    newer = (cur or '') == ARGV[9] and cur ~= ARGV[2]
  elseif cur then
    newer = struct.unpack('>I8', string.sub(cur, 2, 9)) < tonumber(ARGV[1])
  end
  if newer then
    redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
    applied = 1
  end
end
if applied == 1 then redis.call('PUBLISH', ARGV[5], ARGV[6]) end
if ARGV[7] ~= '' then
  local last = tonumber(redis.call('GET', KEYS[2]) or '0')
  if tonumber(ARGV[7]) > last then redis.call('SET', KEYS[2], ARGV[7]) end
end
return applied
