-- write_cell.lua: store a cell's pending update, bump the session seq, update the index,
-- publish 'cell' (prelude.lua prepended).
-- KEYS[1..5] session, seq, cells, students, presence; KEYS[6] the cell's pending_update hash;
-- then the member keys (prelude.lua)
-- ARGV[1..9] common (prelude.lua); ARGV[10] cell id, ARGV[11] expected seq or '' (no check),
-- ARGV[12] source, ARGV[13] cell type, ARGV[14] metadata JSON, ARGV[15] crdt state,
-- ARGV[16] '1' if there is a state, ARGV[17] sync_allowed '1'/'0'/'' (keep),
-- ARGV[18] index or '' (keep), ARGV[19] updated time, ARGV[20] outputs: '1' share ARGV[21]
-- (nbformat outputs JSON), '0' not shared (clear), '' keep
-- Returns {'gone'} | {'ended'} | {'conflict', current seq} | {'stale', cells, students} |
-- {'ok', seq, index (string), allowed 1/0, outputs JSON or false}.

local bad = writable()
if bad then return {bad} end
local raw = redis.call('HGET', KEYS[3], ARGV[10])
local entry = nil
if raw then entry = cjson.decode(raw) end
local current = 0
if entry then current = entry['seq'] end
if ARGV[11] ~= '' and tonumber(ARGV[11]) ~= current then return {'conflict', current} end
local wrong = stale(tonumber(ARGV[1]))
if wrong then return wrong end
local index
if ARGV[18] ~= '' then
  index = tonumber(ARGV[18])
elseif entry then
  index = entry['index']
else
  index = -1
  for _, v in ipairs(redis.call('HVALS', KEYS[3])) do
    local i = cjson.decode(v)['index']
    if i > index then index = i end
  end
  index = index + 1
end
local allowed = true
if ARGV[17] ~= '' then allowed = (ARGV[17] == '1') elseif entry then allowed = entry['a'] end
local seq = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[6], 'source', ARGV[12], 'cell_type', ARGV[13], 'metadata', ARGV[14],
  'sync_allowed', allowed and '1' or '0', 'index', string.format('%d', index),
  'seq', seq, 'updated', ARGV[19])
if ARGV[20] == '1' then
  redis.call('HSET', KEYS[6], 'outputs', ARGV[21])
elseif ARGV[20] == '0' then
  redis.call('HDEL', KEYS[6], 'outputs')
end
if ARGV[16] == '1' then
  redis.call('HSET', KEYS[6], 'crdt_state', ARGV[15])
else
  redis.call('HDEL', KEYS[6], 'crdt_state')
end
redis.call('HSET', KEYS[3], ARGV[10],
  cjson.encode({seq = seq, index = index, a = allowed, t = ARGV[13]}))
refresh(tonumber(ARGV[1]))
publish({type = 'cell', cell_id = ARGV[10], seq = seq, sync_allowed = allowed,
  index = index, cell_type = ARGV[13]})
return {'ok', seq, string.format('%d', index), allowed and 1 or 0,
  redis.call('HGET', KEYS[6], 'outputs')}
