-- A vote for a takeover of a region: given only when this region's last lease grant
-- to it has run out; from then on this region grants it nothing until the vote is
-- held no longer (or the takeover was applied by it; `owner_grant.lua`).
-- KEYS[1] granted key of the region, KEYS[2] its vote key
-- ARGV[1] how long the vote holds, ms, ARGV[2] who it is for
-- Returns 1 when voted, 0 when refused (a grant still runs).
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[1])
return 1
