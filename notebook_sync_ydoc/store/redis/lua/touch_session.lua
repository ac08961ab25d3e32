-- touch_session.lua: refresh every TTL of a session and its updated time (prelude.lua
-- prepended); an ended session keeps the ended TTL.
-- KEYS[1..5] session, seq, cells, students, presence (prelude.lua)
-- ARGV[1..6] common (prelude.lua); ARGV[7] updated time
-- Returns 1, or 0 if the session does not exist.

if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'updated', ARGV[7])
refresh(ttl_ms())
return 1
