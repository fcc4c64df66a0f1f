--[[
  Claims entities (trace_id, id) for one batch in one window: a member counts only for the first batch
  that claims it. The answer is stored under the batch id, so a retried job gets the same answer.
  KEYS[1] seen set of the window
  KEYS[2] claim result of this batch in this window
  ARGV[1] ttl of the seen set (s)
  ARGV[2] ttl of the claim result (s)
  ARGV[3..] members
  Returns '<flags> <members>': one flag character per member ('1' new, count it; '0' seen before) and
  the members claimed, comma-separated. A retry may pass other members; it gets the first answer.
]]
local prev = redis.call('GET', KEYS[2])
if prev then return prev end
local out = {}
for i = 3, #ARGV do
  out[#out + 1] = tostring(redis.call('SADD', KEYS[1], ARGV[i]))
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
local s = table.concat(out) .. ' ' .. table.concat(ARGV, ',', 3)
redis.call('SET', KEYS[2], s, 'EX', ARGV[2])
return s
