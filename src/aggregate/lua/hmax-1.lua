--[[
  For each field, keeps the larger of the stored and the given number.
  KEYS[1] hash
  ARGV[1] ttl (s)
  ARGV[2..] field/value pairs
]]
for i = 2, #ARGV, 2 do
  local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '-inf')
  if tonumber(ARGV[i + 1]) > cur then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
