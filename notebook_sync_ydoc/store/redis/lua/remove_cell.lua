-- remove_cell.lua: delete a cell, bump the session seq, publish 'removed' (prelude.lua
-- prepended).
-- KEYS[1..5] session, seq, cells, students, presence (prelude.lua);
-- KEYS[6] the cell's pending_update hash
-- ARGV[1..6] common (prelude.lua); ARGV[7] cell id
-- Returns {'absent'} (no such cell or session) | {'ended'} | {'ok', new seq}.

local bad = writable()
if bad == 'gone' then return {'absent'} end
if bad then return {bad} end
if redis.call('HEXISTS', KEYS[3], ARGV[7]) == 0 then return {'absent'} end
redis.call('HDEL', KEYS[3], ARGV[7])
redis.call('DEL', KEYS[6])
local seq = redis.call('INCR', KEYS[2])
refresh(tonumber(ARGV[1]))
publish({type = 'removed', cell_id = ARGV[7], seq = seq})
return {'ok', seq}
