-- Shared by every script that touches session state, envelopes, the index of a home's
-- sessions or a capped stream: prepended to each of them when it is loaded
-- (`store::scripts`), so these are the only Lua copies.
-- Mirrors: `state_version` ↔ `store::codec::stored_version`,
--          `state_epoch` ↔ `store::codec::stored_epoch`,
--          `state_created` ↔ `store::codec::stored_created_at`,
--          `envelope` ↔ `store::envelope::Envelope::encode`,
--          `index_put` ↔ `store::index` (entries are built there, digests read there).

-- The version in a stored session value's header: [format u8][version u64 BE]... (the
-- same place in every format).
-- (`struct.unpack` also returns the next position: these return the value alone.)
local function state_version(value)
  local v = struct.unpack('>I8', string.sub(value, 2, 9))
  return v
end

-- The ownership epoch of a stored session value: format 3 carries it after the version
-- and the incarnation ([3][version u64 BE][created_at i64 BE][epoch u32 BE]...),
-- format 2 after the version ([2][version u64 BE][epoch u32 BE][flags u32 BE]
-- [since u64 BE]...); format 1 is epoch 0.
local function state_epoch(value)
  local format = string.byte(value, 1)
  local e = 0
  if format == 3 then
    e = struct.unpack('>I4', string.sub(value, 18, 21))
  elseif format == 2 then
    e = struct.unpack('>I4', string.sub(value, 10, 13))
  end
  return e
end

-- The incarnation (`created_at`) of a stored session value: format 3 carries it in the
-- header (the body is never decoded here); formats 1 and 2 as element 13 of the
-- MessagePack array after the header (the field order of `domain::Session`).
local function state_created(value)
  local format = string.byte(value, 1)
  if format == 3 then
    local at = struct.unpack('>i8', string.sub(value, 10, 17))
    return at
  end
  local from = 10
  if format == 2 then from = 26 end
  local ok, s = pcall(cmsgpack.unpack, string.sub(value, from))
  if ok and type(s) == 'table' then return s[13] end
  return nil
end

-- The wire form of an envelope: msgpack(seq) followed by the msgpack body.
local function envelope(seq, body)
  return cmsgpack.pack(seq) .. body
end

-- Whether a `redis.pcall` answered an error (a key of the wrong type).
local function failed(reply)
  return type(reply) == 'table' and reply.err ~= nil
end

-- A key's type ('none' when absent).
local function key_type(key)
  return redis.call('TYPE', key)['ok']
end

-- The first of `checks` ({key, type}, ...) whose key holds another type than the one
-- the script will write there (absent is fine), or nil. Run before the first write, so
-- that a script that would fail on WRONGTYPE fails having written nothing.
local function wrong_type(checks)
  for _, c in ipairs(checks) do
    local t = key_type(c[1])
    if t ~= 'none' and t ~= c[2] then return c[1] end
  end
  return nil
end

-- Takes the sequence number of this change: the caller's first write, once every
-- check that can fail has passed. `INCR` reads and bumps it in one call (no parsing in
-- Lua); a fresh (or lost) sequence starts at now_ms x 1000 instead, above any earlier
-- epoch, so event ids "<home>:<seq>" never repeat after Redis loses its data; it
-- always stays above the relay log's last id (`log` may be nil), so the log entry's
-- explicit id cannot be refused. Returns nil, having written nothing, when the stored
-- value is not an integer (or not a string).
local function take_seq(key, log, now_ms)
  local seq = redis.pcall('INCR', key)
  if failed(seq) then return nil end
  local taken = seq
  if seq == 1 then seq = tonumber(now_ms) * 1000 end
  if log and key_type(log) == 'stream' then
    local info = redis.call('XINFO', 'STREAM', log)
    for i = 1, #info, 2 do
      if info[i] == 'last-generated-id' then
        local last = tonumber(string.match(info[i + 1], '^(%d+)'))
        if last and seq <= last then seq = last + 1 end
      end
    end
  end
  if seq ~= taken then redis.call('SET', key, string.format('%d', seq)) end
  return seq
end

-- The digest hash of one index entry: 48 bits of SHA-1 over the id and the entry.
local DIGEST_MOD = 281474976710656
local function entry_hash(id, entry)
  return tonumber(string.sub(redis.sha1hex(id .. '\n' .. entry), 1, 12), 16)
end

-- Sets `id`'s entry in the index bucket `ix` to `entry` ('' removes it) and keeps the
-- digest hash `dg` in step: field `bucket` = sum of the bucket's entry hashes mod 2^48
-- (absent when 0), `t` = the same over every bucket, `n` = entries. Idempotent;
-- returns whether anything changed.
local function index_put(ix, dg, bucket, id, entry)
  local old = redis.call('HGET', ix, id)
  if (old or '') == entry then return false end
  local delta, dn = 0, 0
  if old then
    delta = delta - entry_hash(id, old)
    dn = dn - 1
  end
  if entry ~= '' then
    redis.call('HSET', ix, id, entry)
    delta = delta + entry_hash(id, entry)
    dn = dn + 1
  else
    redis.call('HDEL', ix, id)
  end
  local cur = redis.call('HMGET', dg, bucket, 't', 'n')
  local b = ((tonumber(cur[1]) or 0) + delta) % DIGEST_MOD
  local t = ((tonumber(cur[2]) or 0) + delta) % DIGEST_MOD
  local n = (tonumber(cur[3]) or 0) + dn
  redis.call('HSET', dg, 't', string.format('%d', t), 'n', n)
  if b == 0 then
    redis.call('HDEL', dg, bucket)
  else
    redis.call('HSET', dg, bucket, string.format('%d', b))
  end
  return true
end

-- Appends `fields` (a flat name, value list) to the stream `key` with id `id` ('*' for
-- a generated one) and trims its oldest entries so that it holds at most `max_len`
-- entries and about `max_bytes` bytes: the bytes are estimated as entries x a moving
-- average of an entry's size kept in the hash `meta` (field `a`), because consumers
-- delete entries without telling. Returns the number of entries trimmed.
local function capped_xadd(key, meta, id, fields, max_len, max_bytes)
  local size = 0
  for i = 2, #fields, 2 do size = size + #fields[i] end
  local avg = tonumber(redis.call('HGET', meta, 'a') or '') or size
  avg = avg + (size - avg) / 64
  redis.call('HSET', meta, 'a', string.format('%.1f', avg))
  redis.call('XADD', key, id, unpack(fields))
  local keep = tonumber(max_len)
  local by_bytes = math.floor(tonumber(max_bytes) / math.max(avg, 1))
  if by_bytes < keep then keep = by_bytes end
  if keep < 1 then keep = 1 end
  if redis.call('XLEN', key) <= keep then return 0 end
  return redis.call('XTRIM', key, 'MAXLEN', keep)
end
