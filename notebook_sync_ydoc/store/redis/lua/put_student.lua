-- put_student.lua: create a student or update its identity, name and join time; its pulled
-- state is written only when the student is new (prelude.lua prepended).
-- KEYS[1..5] session, seq, cells, students, presence; KEYS[6] the student's hash; then the
-- member keys (prelude.lua)
-- ARGV[1..9] common (prelude.lua); ARGV[10] student id, ARGV[11] identity, ARGV[12] name,
-- ARGV[13] joined, ARGV[14..] field/value pairs of the initial pulled state
-- Returns 'ok', 'gone' or {'stale', cells, students}.

if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
local bad = stale(ttl_ms())
if bad then return bad end
local new = redis.call('EXISTS', KEYS[6]) == 0
redis.call('HSET', KEYS[6], 'i', ARGV[11], 'n', ARGV[12], 'j', ARGV[13])
if new then
  for i = 14, #ARGV, 2 do redis.call('HSET', KEYS[6], ARGV[i], ARGV[i + 1]) end
end
redis.call('ZADD', KEYS[4], ARGV[13], ARGV[10])
refresh(ttl_ms())
return 'ok'
