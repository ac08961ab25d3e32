-- online.lua: the presence members still alive (now_ms.lua prepended).
-- KEYS[1] presence sorted set
-- ARGV: none
-- Returns the members whose expiry is after now.

return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. string.format('%.0f', now_ms()), '+inf')
