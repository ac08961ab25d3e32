-- create_session.lua: create a session unless its code is taken (prelude.lua prepended).
-- KEYS[1..5] session, seq, cells, students, presence (prelude.lua); no member keys (a new
-- session has none: its index and students are deleted)
-- ARGV[1..9] common (prelude.lua); ARGV[10..] field/value pairs of the session hash
-- Returns 1 if created, 0 if the code is taken (nothing written).

if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
for i = 10, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('SET', KEYS[2], 0)
refresh(tonumber(ARGV[1]))
return 1
