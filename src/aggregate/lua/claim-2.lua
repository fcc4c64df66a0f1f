--[[
  Claims entities (trace_id, id) for one batch in one window: a member counts only for the first batch
  that claims it. The answer is stored under the batch id, so a retried job gets the same answer.
  KEYS[1] seen set of the window
  KEYS[2] claim result of this batch in this window
  ARGV[1] ttl of the seen set (s)
  ARGV[2] ttl of the claim result (s)
  ARGV[3..] members
  Returns '<flags>', one flag character per member ('1' new, count it; '0' seen before, or earlier in
  this same list). A retry gets the first answer as '<flags> <members>' (comma-separated): it may have
  passed other members, and only the first run's count.
  Two commands whatever the batch size (SMISMEMBER, then SADD), not one per member.
]]
local prev = redis.call('GET', KEYS[2])
if prev then return prev end
local n = #ARGV - 2
local out = {}
local mine = {}
local CHUNK = 4000 -- unpack() is bounded by the Lua C stack
for from = 3, #ARGV, CHUNK do
  local to = math.min(from + CHUNK - 1, #ARGV)
  local known = redis.call('SMISMEMBER', KEYS[1], unpack(ARGV, from, to))
  for i = from, to do
    local m = ARGV[i]
    if known[i - from + 1] == 0 and not mine[m] then
      mine[m] = true
      out[i - 2] = '1'
    else
      out[i - 2] = '0'
    end
  end
  redis.call('SADD', KEYS[1], unpack(ARGV, from, to))
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
local flags = table.concat(out)
redis.call('SET', KEYS[2], flags .. ' ' .. table.concat(ARGV, ',', 3), 'EX', ARGV[2])
return flags
