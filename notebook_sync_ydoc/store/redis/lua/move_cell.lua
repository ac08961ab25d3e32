-- move_cell.lua: give a cell a new id (cut and paste in the teacher's notebook): its pending
-- update, its index entry and every student's pulled state, pull mark and help request of it
-- move to the new id; no seq changes; publish 'moved' (prelude.lua prepended).
-- KEYS[1..5] session, seq, cells, students, presence; KEYS[6] the old pending_update hash,
-- KEYS[7] the new one; then the member keys (prelude.lua)
-- ARGV[1..9] common (prelude.lua); ARGV[10] old cell id, ARGV[11] new cell id
-- Returns {'absent'} (no such cell or session) | {'ended'} | {'exists'} (the new id is taken) |
-- {'stale', cells, students} | {'ok', HGETALL of the cell hash}.

local bad = writable()
if bad == 'gone' then return {'absent'} end
if bad then return {bad} end
local raw = redis.call('HGET', KEYS[3], ARGV[10])
if not raw then return {'absent'} end
if redis.call('HEXISTS', KEYS[3], ARGV[11]) == 1 then return {'exists'} end
local wrong = stale()
if wrong then return wrong end
redis.call('HDEL', KEYS[3], ARGV[10])
redis.call('HSET', KEYS[3], ARGV[11], raw)
redis.call('DEL', KEYS[7])
redis.call('RENAME', KEYS[6], KEYS[7])
local first = tonumber(ARGV[8]) + 1 + tonumber(ARGV[9])
for i = first, #KEYS do
  if current[KEYS[i]] then
    for _, kind in ipairs({'p:', 's:', 'm:', 'h:'}) do
      local value = redis.call('HGET', KEYS[i], kind .. ARGV[10])
      if value then
        if kind == 'h:' then
          local request = cjson.decode(value)
          request['cid'] = ARGV[11]
          value = cjson.encode(request)
        end
        redis.call('HSET', KEYS[i], kind .. ARGV[11], value)
        redis.call('HDEL', KEYS[i], kind .. ARGV[10])
      end
    end
  end
end
refresh(tonumber(ARGV[1]))
local entry = cjson.decode(raw)
publish({type = 'moved', cell_id = ARGV[11], from_id = ARGV[10], seq = entry['seq'],
  sync_allowed = entry['a'], index = entry['index'], cell_type = entry['t']})
return {'ok', redis.call('HGETALL', KEYS[7])}
