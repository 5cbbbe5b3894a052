-- Delete a session: remove state and deadline, bump the sequence, publish the
-- deletion envelope. KEYS[1] session key, KEYS[2] deadline zset, KEYS[3] sequence key
-- ARGV[1] session id, ARGV[2] fan-out channel, ARGV[3] envelope body (msgpack)
-- Returns 1 if the session existed, else 0 (the deletion is broadcast either way).
local existed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local seq = redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[2], cmsgpack.pack(seq) .. ARGV[3])
return existed
