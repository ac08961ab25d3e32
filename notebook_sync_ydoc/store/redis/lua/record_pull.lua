-- record_pull.lua: store what a student pulled of a cell (prelude.lua prepended).
-- KEYS[1..5] session, seq, cells, students, presence (prelude.lua);
-- KEYS[6] the student's hash
-- ARGV[1..6] common (prelude.lua); ARGV[7] student id, ARGV[8] cell id, ARGV[9] pulled JSON,
-- ARGV[10] base state, ARGV[11] '1' if there is a state
-- Returns 'ok', 'gone' (no session) or 'unknown' (no such student).

if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
if not redis.call('ZSCORE', KEYS[4], ARGV[7]) or redis.call('EXISTS', KEYS[6]) == 0 then
  return 'unknown'
end
redis.call('HSET', KEYS[6], 'p:' .. ARGV[8], ARGV[9])
if ARGV[11] == '1' then
  redis.call('HSET', KEYS[6], 's:' .. ARGV[8], ARGV[10])
else
  redis.call('HDEL', KEYS[6], 's:' .. ARGV[8])
end
refresh(ttl_ms())
return 'ok'
