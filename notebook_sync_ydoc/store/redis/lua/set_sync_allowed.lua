-- set_sync_allowed.lua: set a cell's sync_allowed (seq unchanged), publish 'sync'
-- (prelude.lua prepended).
-- KEYS[1..5] session, seq, cells, students, presence; KEYS[6] the cell's pending_update hash;
-- then the member keys (prelude.lua)
-- ARGV[1..9] common (prelude.lua); ARGV[10] cell id, ARGV[11] '1'/'0'
-- Returns {'absent'} (no such cell or session) | {'ended'} | {'stale', cells, students} |
-- {'ok', HGETALL of the cell hash}.

local bad = writable()
if bad == 'gone' then return {'absent'} end
if bad then return {bad} end
local raw = redis.call('HGET', KEYS[3], ARGV[10])
if not raw then return {'absent'} end
local wrong = stale(tonumber(ARGV[1]))
if wrong then return wrong end
local entry = cjson.decode(raw)
local allowed = (ARGV[11] == '1')
entry['a'] = allowed
redis.call('HSET', KEYS[3], ARGV[10], cjson.encode(entry))
redis.call('HSET', KEYS[6], 'sync_allowed', ARGV[11])
refresh(tonumber(ARGV[1]))
publish({type = 'sync', cell_id = ARGV[10], seq = entry['seq'], sync_allowed = allowed,
  index = entry['index'], cell_type = entry['t']})
return {'ok', redis.call('HGETALL', KEYS[6])}
