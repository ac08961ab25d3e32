-- reorder_cells.lua: give the session's cells the order of the teacher's notebook (no seq
-- changes), publish 'order' (prelude.lua prepended).
-- KEYS[1..5] session, seq, cells, students, presence; then the member keys (prelude.lua)
-- ARGV[1..9] common (prelude.lua); ARGV[10] JSON array of cell ids: those first, in that
-- order, then the session's other cells in their present (index, seq) order
-- Returns {'absent'} (no session) | {'ended'} | {'unknown', cell ids not in the session} |
-- {'stale', cells, students} | {'ok', the full order}.

local bad = writable()
if bad == 'gone' then return {'absent'} end
if bad then return {bad} end
local order = cjson.decode(ARGV[10])
local flat = redis.call('HGETALL', KEYS[3])
local entries = {}
for i = 1, #flat, 2 do entries[flat[i]] = cjson.decode(flat[i + 1]) end
local unknown = {}
for _, c in ipairs(order) do
  if not entries[c] then table.insert(unknown, c) end
end
if #unknown > 0 then return {'unknown', unknown} end
local wrong = stale()
if wrong then return wrong end
local named, full, rest = {}, {}, {}
for _, c in ipairs(order) do
  named[c] = true
  table.insert(full, c)
end
for c, _ in pairs(entries) do
  if not named[c] then table.insert(rest, c) end
end
table.sort(rest, function(a, b)
  local x, y = entries[a], entries[b]
  if x['index'] ~= y['index'] then return x['index'] < y['index'] end
  return x['seq'] < y['seq']
end)
for _, c in ipairs(rest) do table.insert(full, c) end
-- the cells' keys are member keys (stale() checked): reach each one through KEYS
local slot = {}
local first = tonumber(ARGV[8]) + 1
for i = first, first + tonumber(ARGV[9]) - 1 do slot[KEYS[i]] = i end
for i, c in ipairs(full) do
  local e = entries[c]
  if e['index'] ~= i - 1 then
    e['index'] = i - 1
    redis.call('HSET', KEYS[3], c, cjson.encode(e))
    redis.call('HSET', KEYS[slot[ARGV[3] .. c]], 'index', string.format('%d', i - 1))
  end
end
refresh(tonumber(ARGV[1]))
publish({type = 'order', seq = tonumber(redis.call('GET', KEYS[2]) or '0'), order = full})
return {'ok', full}
