--[[
  Applies one batch's deltas to one window, once. Every key is in the window's hash slot.
  KEYS[1] applied marker of this batch in this window
  KEYS[2..] data keys
  ARGV[1] ttl of the marker (s)
  ARGV[2..] for each data key, in order: op, ttl (s), count, then the payload
     op 'i': count field/increment pairs (HINCRBY)
     op 's': count field/value pairs (HSET)
     op 'a': count members (SADD)
  Returns 1 when applied, 0 when this batch was applied before.
]]
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local a = 2
for k = 2, #KEYS do
  local key = KEYS[k]
  local op = ARGV[a]
  local ttl = ARGV[a + 1]
  local n = tonumber(ARGV[a + 2])
  a = a + 3
  if op == 'i' then
    for j = 0, n - 1 do
      redis.call('HINCRBY', key, ARGV[a + 2 * j], ARGV[a + 2 * j + 1])
    end
    a = a + 2 * n
  elseif op == 's' then
    for j = 0, n - 1 do
      redis.call('HSET', key, ARGV[a + 2 * j], ARGV[a + 2 * j + 1])
    end
    a = a + 2 * n
  elseif op == 'a' then
    for j = 0, n - 1 do
      redis.call('SADD', key, ARGV[a + j])
    end
    a = a + n
  else
    return redis.error_reply('apply: unknown op ' .. tostring(op))
  end
  redis.call('EXPIRE', key, ttl)
end
return 1
