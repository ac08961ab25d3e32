-- delete_help.lua: delete a student's help request of a cell and publish 'help' (prelude.lua
-- prepended).
-- KEYS[1..5] session, seq, cells, students, presence; KEYS[6] the student's hash; then the
-- member keys (prelude.lua)
-- ARGV[1..9] common (prelude.lua); ARGV[10] student id, ARGV[11] cell id, ARGV[12] the request
-- id the stored one must have, or '' for any
-- Returns 'ok', 'gone', 'ended', 'none' (no such request; nothing written) or
-- {'stale', cells, students}.

local state = writable()
if state then return state end
local bad = stale(ttl_ms())
if bad then return bad end
local field = 'h:' .. ARGV[11]
local old = redis.call('HGET', KEYS[6], field)
if not old then return 'none' end
if ARGV[12] ~= '' and cjson.decode(old)['rid'] ~= ARGV[12] then return 'none' end
redis.call('HDEL', KEYS[6], field)
refresh(ttl_ms())
publish({type = 'help', seq = 0, student_id = ARGV[10], help_cell = ARGV[11]})
return 'ok'
