-- set_presence.lua: add (scored by expiry) or remove one presence member (now_ms.lua
-- prepended); dropping the expired members on the way.
-- KEYS[1] session hash, KEYS[2] presence sorted set
-- ARGV[1] member, ARGV[2] '1' online / '0' offline, ARGV[3] lifetime ms
-- Returns 'ok', or 'gone' when going online in a missing session.

if ARGV[2] == '0' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 'ok'
end
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', now))
redis.call('ZADD', KEYS[2], string.format('%.0f', now + tonumber(ARGV[3])), ARGV[1])
local pttl = redis.call('PTTL', KEYS[1])
if pttl > 0 then redis.call('PEXPIRE', KEYS[2], pttl) end
return 'ok'
