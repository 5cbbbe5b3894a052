-- Record a follower's position in a home's relay log without applying an entry: after
-- an entry it had to skip (`raise`: only forward), or after a catch-up from a snapshot
-- of the home (`set`: also backward, when the home's log went back).
-- KEYS[1] applied-sequence key of the home, KEYS[2] its fingerprint key
-- ARGV[1] sequence number, ARGV[2] fingerprint of that entry ('0' unknown),
-- ARGV[3] 'raise' or 'set'
-- Returns 1 when the position changed.
local last = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local seq = tonumber(ARGV[1])
if ARGV[3] == 'raise' and seq <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
return 1
