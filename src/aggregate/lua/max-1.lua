--[[
  Raises a number to at least the given value.
  KEYS[1] the number
  ARGV[1] candidate value
  ARGV[2] ttl (s)
  Returns the value after the call.
]]
local cur = tonumber(redis.call('GET', KEYS[1]) or '-inf')
local v = tonumber(ARGV[1])
if v > cur then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return ARGV[1]
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return tostring(cur)
