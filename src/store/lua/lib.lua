-- Shared by every script that touches session state or envelopes: prepended to each
-- of them when it is loaded (`store::scripts`), so these are the only Lua copies.
-- Mirrors: `state_version` ↔ `store::codec::stored_version`,
--          `envelope` ↔ `store::envelope::Envelope::encode`.

-- The version in a stored session value's header: [format u8][version u64 BE]...
local function state_version(value)
  return struct.unpack('>I8', string.sub(value, 2, 9))
end

-- The wire form of an envelope: msgpack(seq) followed by the msgpack body.
local function envelope(seq, body)
  return cmsgpack.pack(seq) .. body
end

-- Bumps the region sequence. A fresh (or lost) sequence starts at now_ms x 1000,
-- above any earlier epoch, so event ids "<home>:<seq>" never repeat after Redis
-- loses its data.
local function next_seq(key, now_ms)
  local seq = redis.call('INCR', key)
  if seq == 1 then
    seq = tonumber(now_ms) * 1000
    redis.call('SET', key, seq)
  end
  return seq
end

