-- heartbeat.lua: re-score this server's presence members of one session (now_ms.lua
-- prepended).
-- KEYS[1] session hash, KEYS[2] presence sorted set
-- ARGV[1] lifetime ms, ARGV[2..] members
-- Returns the number of members re-scored (0 if the session is gone).

if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local score = string.format('%.0f', now_ms() + tonumber(ARGV[1]))
for i = 2, #ARGV do redis.call('ZADD', KEYS[2], score, ARGV[i]) end
local pttl = redis.call('PTTL', KEYS[1])
if pttl > 0 then redis.call('PEXPIRE', KEYS[2], pttl) end
return #ARGV - 1
