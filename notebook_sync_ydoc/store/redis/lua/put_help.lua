-- put_help.lua: write a student's help request of a cell (replacing any) and publish 'help'
-- (prelude.lua prepended). The request lives in the student's hash, field h:<cell_id>, so it
-- has the student's lifetime: the session's.
-- KEYS[1..5] session, seq, cells, students, presence; KEYS[6] the student's hash; then the
-- member keys (prelude.lua)
-- ARGV[1..9] common (prelude.lua); ARGV[10] student id, ARGV[11] cell id, ARGV[12] the request
-- JSON (HelpRequest.to_json), ARGV[13] the request id the stored one must have, or '' for any
-- Returns 'ok', 'gone', 'ended', 'unknown' (no such student), 'mismatch' (not the expected
-- request; nothing written) or {'stale', cells, students}.

local state = writable()
if state then return state end
if not redis.call('ZSCORE', KEYS[4], ARGV[10]) or redis.call('EXISTS', KEYS[6]) == 0 then
  return 'unknown'
end
local bad = stale(ttl_ms())
if bad then return bad end
local field = 'h:' .. ARGV[11]
if ARGV[13] ~= '' then
  local old = redis.call('HGET', KEYS[6], field)
  if not old or cjson.decode(old)['rid'] ~= ARGV[13] then return 'mismatch' end
end
redis.call('HSET', KEYS[6], field, ARGV[12])
refresh(ttl_ms())
publish({type = 'help', seq = 0, student_id = ARGV[10], help_cell = ARGV[11]})
return 'ok'
