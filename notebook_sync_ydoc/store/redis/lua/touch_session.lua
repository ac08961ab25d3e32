-- touch_session.lua: refresh every TTL of a session and its updated time (prelude.lua
-- prepended); an ended session keeps the ended TTL.
-- KEYS[1..5] session, seq, cells, students, presence, then the member keys (prelude.lua)
-- ARGV[1..9] common (prelude.lua); ARGV[10] updated time
-- Returns 1, 0 if the session does not exist, or {'stale', cells, students}.

if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local bad = stale(ttl_ms())
if bad then return bad end
redis.call('HSET', KEYS[1], 'updated', ARGV[10])
refresh(ttl_ms())
return 1
