-- write_cell.lua: store a cell's pending update, bump the session seq, update the index,
-- publish 'cell' (prelude.lua prepended).
-- KEYS[1..5] session, seq, cells, students, presence (prelude.lua);
-- KEYS[6] the cell's pending_update hash
-- ARGV[1..6] common (prelude.lua); ARGV[7] cell id, ARGV[8] expected seq or '' (no check),
-- ARGV[9] source, ARGV[10] cell type, ARGV[11] metadata JSON, ARGV[12] crdt state,
-- ARGV[13] '1' if there is a state, ARGV[14] sync_allowed '1'/'0'/'' (keep),
-- ARGV[15] index or '' (keep), ARGV[16] updated time
-- Returns {'gone'} | {'ended'} | {'conflict', current seq} |
-- {'ok', seq, index (string), allowed 1/0}.

local bad = writable()
if bad then return {bad} end
local raw = redis.call('HGET', KEYS[3], ARGV[7])
local entry = nil
if raw then entry = cjson.decode(raw) end
local current = 0
if entry then current = entry['seq'] end
if ARGV[8] ~= '' and tonumber(ARGV[8]) ~= current then return {'conflict', current} end
local index
if ARGV[15] ~= '' then
  index = tonumber(ARGV[15])
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
if ARGV[14] ~= '' then allowed = (ARGV[14] == '1') elseif entry then allowed = entry['a'] end
local seq = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[6], 'source', ARGV[9], 'cell_type', ARGV[10], 'metadata', ARGV[11],
  'sync_allowed', allowed and '1' or '0', 'index', string.format('%d', index),
  'seq', seq, 'updated', ARGV[16])
if ARGV[13] == '1' then
  redis.call('HSET', KEYS[6], 'crdt_state', ARGV[12])
else
  redis.call('HDEL', KEYS[6], 'crdt_state')
end
redis.call('HSET', KEYS[3], ARGV[7],
  cjson.encode({seq = seq, index = index, a = allowed, t = ARGV[10]}))
refresh(tonumber(ARGV[1]))
publish({type = 'cell', cell_id = ARGV[7], seq = seq, sync_allowed = allowed,
  index = index, cell_type = ARGV[10]})
return {'ok', seq, string.format('%d', index), allowed and 1 or 0}
