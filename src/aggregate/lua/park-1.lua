--[[
  Parks subsegments waiting for their segment: appends each line to its trace's NDJSON, once.
  KEYS[1] parking hash of a time bucket
  ARGV[1] ttl (s)
  ARGV[2..] trace/line pairs
]]
for i = 2, #ARGV, 2 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if not cur then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  elseif not string.find('\n' .. cur .. '\n', '\n' .. ARGV[i + 1] .. '\n', 1, true) then
    redis.call('HSET', KEYS[1], ARGV[i], cur .. '\n' .. ARGV[i + 1])
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
