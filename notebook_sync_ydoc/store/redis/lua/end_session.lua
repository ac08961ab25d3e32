-- end_session.lua: mark a session ended, shorten its TTLs, publish 'ended' (prelude.lua
-- prepended). Ending an ended session changes nothing and publishes nothing.
-- KEYS[1..5] session, seq, cells, students, presence, then the member keys (prelude.lua)
-- ARGV[1..9] common (prelude.lua); ARGV[10] updated time
-- Returns {'gone'} | {'stale', cells, students} | {'ok', HGETALL of the session hash}.

if redis.call('EXISTS', KEYS[1]) == 0 then return {'gone'} end
local bad = stale(tonumber(ARGV[2]))
if bad then return bad end
if redis.call('HGET', KEYS[1], 'status') ~= 'ended' then
  redis.call('HSET', KEYS[1], 'status', 'ended', 'updated', ARGV[10])
  refresh(tonumber(ARGV[2]))
  publish({type = 'ended', seq = tonumber(redis.call('GET', KEYS[2]) or '0')})
end
return {'ok', redis.call('HGETALL', KEYS[1])}
