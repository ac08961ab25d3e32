-- now_ms.lua: the Redis server clock in ms, prepended (at load time, by scripts.py) to the
-- presence scripts, so the clocks of the Jupyter servers do not matter.
-- KEYS and ARGV: none of its own (each presence script documents its own).

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
