-- remove_cell.lua: delete a cell, bump the session seq, publish 'removed' (prelude.lua
-- prepended).
-- KEYS[1..5] session, seq, cells, students, presence; KEYS[6] the cell's pending_update hash;
-- then the member keys (prelude.lua)
-- ARGV[1..9] common (prelude.lua); ARGV[10] cell id
-- Returns {'absent'} (no such cell or session) | {'ended'} | {'stale', cells, students} |
-- {'ok', new seq}.

local bad = writable()
if bad == 'gone' then return {'absent'} end
if bad then return {bad} end
if redis.call('HEXISTS', KEYS[3], ARGV[10]) == 0 then return {'absent'} end
local wrong = stale(tonumber(ARGV[1]))
if wrong then return wrong end
redis.call('HDEL', KEYS[3], ARGV[10])
redis.call('DEL', KEYS[6])
local seq = redis.call('INCR', KEYS[2])
refresh(tonumber(ARGV[1]))
publish({type = 'removed', cell_id = ARGV[10], seq = seq})
return {'ok', seq}
