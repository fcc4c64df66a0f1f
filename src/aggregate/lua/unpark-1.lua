--[[
  Removes parked subsegments that have been joined with their segment.
  KEYS[1] parking hash of a time bucket
  ARGV[1..] trace/line pairs
]]
for i = 1, #ARGV, 2 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if cur then
    local kept = {}
    for line in string.gmatch(cur, '[^\n]+') do
      if line ~= ARGV[i + 1] then kept[#kept + 1] = line end
    end
    if #kept == 0 then redis.call('HDEL', KEYS[1], ARGV[i])
    else redis.call('HSET', KEYS[1], ARGV[i], table.concat(kept, '\n')) end
  end
end
return 1
