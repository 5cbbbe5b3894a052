-- A region grants another one (the asker) its ownership lease, and promises not to
-- vote for a takeover of it until the grant runs out (issue 11, `region::owners`).
-- KEYS[1] granted key of the asker, KEYS[2] its vote key, KEYS[3] its taken record
-- ARGV[1] lease + margin, ms
-- ARGV[2] the asker's applied position of the log of the region named in the taken
--         record ('' when the caller read none)
-- Returns {1, '', ''} granted | {0, why, taken record or ''}
local taken = redis.call('GET', KEYS[3])
if taken then
  local seq = tonumber(string.match(taken, ':(%d+)$') or '')
  local applied = tonumber(ARGV[2])
  if seq and applied and applied >= seq then
    -- The asker has applied the takeover: the vote has served its purpose.
    redis.call('DEL', KEYS[3], KEYS[2])
  else
    return {0, 'taken', taken}
  end
end
if redis.call('EXISTS', KEYS[2]) == 1 then return {0, 'voted', ''} end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return {1, '', ''}
