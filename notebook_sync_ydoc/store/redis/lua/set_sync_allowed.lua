-- set_sync_allowed.lua: set a cell's sync_allowed (seq unchanged), publish 'sync'
-- (prelude.lua prepended).
-- KEYS[1..5] session, seq, cells, students, presence (prelude.lua);
-- KEYS[6] the cell's pending_update hash
-- ARGV[1..6] common (prelude.lua); ARGV[7] cell id, ARGV[8] '1'/'0'
-- Returns {'absent'} (no such cell or session) | {'ended'} | {'ok', HGETALL of the cell hash}.

local bad = writable()
if bad == 'gone' then return {'absent'} end
if bad then return {bad} end
local raw = redis.call('HGET', KEYS[3], ARGV[7])
if not raw then return {'absent'} end
local entry = cjson.decode(raw)
local allowed = (ARGV[8] == '1')
entry['a'] = allowed
redis.call('HSET', KEYS[3], ARGV[7], cjson.encode(entry))
redis.call('HSET', KEYS[6], 'sync_allowed', ARGV[8])
refresh(tonumber(ARGV[1]))
publish({type = 'sync', cell_id = ARGV[7], seq = entry['seq'], sync_allowed = allowed,
  index = entry['index'], cell_type = entry['t']})
return {'ok', redis.call('HGETALL', KEYS[6])}
