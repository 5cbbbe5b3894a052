-- A vote for a takeover of a region: given only when this region's last lease grant
-- to it has run out; from then on this region grants it nothing until the vote is
-- held no longer, and, whatever the time, until the takeover is settled: the vote
-- also records the takeover as pending (`<by>:<max>`, never satisfied) unless a
-- record is there already. The successor replaces it with where its log holds the
-- takeover, or clears it when it gives up (`Owners::taken`).
-- KEYS[1] granted key of the region, KEYS[2] its vote key, KEYS[3] its taken record
-- ARGV[1] how long the vote holds, ms, ARGV[2] who it is for
-- Returns 1 when voted, 0 when refused (a grant still runs).
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[1])
redis.call('SET', KEYS[3], ARGV[2] .. ':18446744073709551615', 'NX')
return 1
