-- put_student.lua: create a student or update its identity, name and join time; its pulled
-- state is written only when the student is new (prelude.lua prepended).
-- KEYS[1..5] session, seq, cells, students, presence (prelude.lua);
-- KEYS[6] the student's hash
-- ARGV[1..6] common (prelude.lua); ARGV[7] student id, ARGV[8] identity, ARGV[9] name,
-- ARGV[10] joined, ARGV[11..] field/value pairs of the initial pulled state
-- Returns 'ok' or 'gone'.

if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
local new = redis.call('EXISTS', KEYS[6]) == 0
redis.call('HSET', KEYS[6], 'i', ARGV[8], 'n', ARGV[9], 'j', ARGV[10])
if new then
  for i = 11, #ARGV, 2 do redis.call('HSET', KEYS[6], ARGV[i], ARGV[i + 1]) end
end
redis.call('ZADD', KEYS[4], ARGV[10], ARGV[7])
refresh(ttl_ms())
return 'ok'
