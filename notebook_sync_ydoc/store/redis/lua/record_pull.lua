-- record_pull.lua: store what a student pulled of a cell (prelude.lua prepended).
-- KEYS[1..5] session, seq, cells, students, presence; KEYS[6] the student's hash; then the
-- member keys (prelude.lua)
-- ARGV[1..9] common (prelude.lua); ARGV[10] student id, ARGV[11] cell id, ARGV[12] pulled
-- JSON, ARGV[13] base state, ARGV[14] '1' if there is a state
-- Returns 'ok', 'gone' (no session), 'unknown' (no such student) or {'stale', cells, students}.

if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
if not redis.call('ZSCORE', KEYS[4], ARGV[10]) or redis.call('EXISTS', KEYS[6]) == 0 then
  return 'unknown'
end
local bad = stale(ttl_ms())
if bad then return bad end
redis.call('HSET', KEYS[6], 'p:' .. ARGV[11], ARGV[12])
if ARGV[14] == '1' then
  redis.call('HSET', KEYS[6], 's:' .. ARGV[11], ARGV[13])
else
  redis.call('HDEL', KEYS[6], 's:' .. ARGV[11])
end
refresh(ttl_ms())
return 'ok'
