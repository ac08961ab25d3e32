-- prelude.lua: helpers prepended (at load time, by scripts.py) to every session script.
-- Every session script gets the same first KEYS and ARGV:
--   KEYS[1] session hash, KEYS[2] seq, KEYS[3] cells index, KEYS[4] students,
--   KEYS[5] presence, KEYS[6] the cell's or student's key (when the script has one), then the
--   member keys: the pending_update key of every cell of the index, then the key of every
--   student, as the caller knows them (every key a script touches is in KEYS)
--   ARGV[1] active ttl ms, ARGV[2] ended ttl ms, ARGV[3] pending_update key prefix (with code),
--   ARGV[4] student key prefix (with code), ARGV[5] channel, ARGV[6] origin server id,
--   ARGV[7] '1' to SPUBLISH (Redis Cluster) or '0' to PUBLISH, ARGV[8] how many KEYS come
--   before the member keys (5 or 6), ARGV[9] how many of the member keys are cells'
-- stale(ms) checks that the member keys include the key of every cell of the index and of every
-- student (ARGV[3]/ARGV[4] only build names to compare with KEYS, never to access a key; a
-- member key of a cell or student that is gone is allowed, and left alone); when one is
-- missing the script writes nothing and returns {'stale', cell ids, student ids}, and the
-- caller runs it again with the right keys. It checks only when the script is going to touch
-- the member keys: always with no argument (reorder_cells, move_cell), else only when
-- refresh(ms) will refresh them all, which is when the session key has less than half of ms
-- left (or more than ms: an ended session's shorter TTL). Between those moments a write needs
-- no member key at all, and the caller sends none (members.py): a write costs the same with 20
-- students or 5,000, and servers adding students at once do not make each other's writes stale.
-- refresh(ms) then gives KEYS[1..ARGV[8]] and the member keys stale() found current the TTL
-- ms, all at once; otherwise it only gives KEYS[2..ARGV[8]] the session key's remaining time.
-- Every key of a session thus always has the session key's deadline.

local current = {}  -- member keys (of KEYS) that are the session's cells and students

local function fresh(ms)
  local left = redis.call('PTTL', KEYS[1])
  return left > ms / 2 and left <= ms, left
end

local function stale(ms)
  if ms and fresh(ms) then return nil end
  local first, ncells = tonumber(ARGV[8]) + 1, tonumber(ARGV[9])
  local declared = {}
  for i = first, #KEYS do
    if i < first + ncells then declared[KEYS[i]] = 'c' else declared[KEYS[i]] = 's' end
  end
  local cells = redis.call('HKEYS', KEYS[3])
  local students = redis.call('ZRANGE', KEYS[4], 0, -1)
  for _, c in ipairs(cells) do
    local key = ARGV[3] .. c
    if declared[key] ~= 'c' then return {'stale', cells, students} end
    current[key] = true
  end
  for _, s in ipairs(students) do
    local key = ARGV[4] .. s
    if declared[key] ~= 's' then return {'stale', cells, students} end
    current[key] = true
  end
  return nil
end

local function ttl_ms()
  if redis.call('HGET', KEYS[1], 'status') == 'ended' then return tonumber(ARGV[2]) end
  return tonumber(ARGV[1])
end

local function refresh(ms)
  local fixed = tonumber(ARGV[8])
  local is_fresh, left = fresh(ms)
  if is_fresh then
    -- Not yet at half of its lifetime: every key of the session still has the deadline the
    -- last full refresh gave them all (the session's). Only KEYS[1..fixed] may have been
    -- created since (a new student's or cell's key, the first cell's index): they get exactly
    -- the session's remaining time, so no key outlives the session or expires before it.
    for i = 2, fixed do redis.call('PEXPIRE', KEYS[i], left) end
    return
  end
  for i = 1, fixed do redis.call('PEXPIRE', KEYS[i], ms) end
  for i = fixed + 1, #KEYS do
    if current[KEYS[i]] then redis.call('PEXPIRE', KEYS[i], ms) end
  end
end

local function publish(ev)
  ev['origin'] = ARGV[6]
  if ARGV[7] == '1' then
    redis.call('SPUBLISH', ARGV[5], cjson.encode(ev))
  else
    redis.call('PUBLISH', ARGV[5], cjson.encode(ev))
  end
end

local function writable()
  if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
  if redis.call('HGET', KEYS[1], 'status') == 'ended' then return 'ended' end
  return nil
end
