-- prelude.lua: helpers prepended (at load time, by scripts.py) to every session script.
-- Every session script gets the same first KEYS and ARGV:
--   KEYS[1] session hash, KEYS[2] seq, KEYS[3] cells index, KEYS[4] students,
--   KEYS[5] presence, KEYS[6] the cell's or student's key (when the script has one)
--   ARGV[1] active ttl ms, ARGV[2] ended ttl ms, ARGV[3] pending_update key prefix (with code),
--   ARGV[4] student key prefix (with code), ARGV[5] channel, ARGV[6] origin server id
-- refresh() builds per-cell and per-student key names from ARGV[3]/ARGV[4] and the index (not
-- passed in KEYS); they carry the session's hash tag, so they hash to the same cluster slot.

local function ttl_ms()
  if redis.call('HGET', KEYS[1], 'status') == 'ended' then return tonumber(ARGV[2]) end
  return tonumber(ARGV[1])
end

local function refresh(ms)
  for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ms) end
  for _, c in ipairs(redis.call('HKEYS', KEYS[3])) do
    redis.call('PEXPIRE', ARGV[3] .. c, ms)
  end
  for _, s in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
    redis.call('PEXPIRE', ARGV[4] .. s, ms)
  end
end

local function publish(ev)
  ev['origin'] = ARGV[6]
  redis.call('PUBLISH', ARGV[5], cjson.encode(ev))
end

local function writable()
  if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
  if redis.call('HGET', KEYS[1], 'status') == 'ended' then return 'ended' end
  return nil
end
