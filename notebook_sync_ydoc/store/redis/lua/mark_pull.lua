-- mark_pull.lua: store how a student's last pull of a cell ended, when it did not simply apply
-- (conflict shown, or kept mine), for the teacher's progress view (prelude.lua prepended).
-- KEYS[1..5] session, seq, cells, students, presence; KEYS[6] the student's hash; then the
-- member keys (prelude.lua)
-- ARGV[1..9] common (prelude.lua); ARGV[10] student id, ARGV[11] cell id, ARGV[12] the mark
-- JSON {"st", "seq", "at"}
-- Returns 'ok', 'gone' (no session), 'unknown' (no such student) or {'stale', cells, students}.

if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
if not redis.call('ZSCORE', KEYS[4], ARGV[10]) or redis.call('EXISTS', KEYS[6]) == 0 then
  return 'unknown'
end
local bad = stale(ttl_ms())
if bad then return bad end
redis.call('HSET', KEYS[6], 'm:' .. ARGV[11], ARGV[12])
refresh(ttl_ms())
return 'ok'
