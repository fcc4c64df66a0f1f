--[[
  Turns matched link evidence into link counts, once: a callee entry counts only if this call removes it.
  KEYS[1] pending callees of the window (parent_id -> callee node)
  KEYS[2] link counts of the window
  ARGV[1] ttl of the link counts (s)
  ARGV[2..] parent_id / link pairs
  Returns how many links were added.
]]
local added = 0
for i = 2, #ARGV, 2 do
  if redis.call('HDEL', KEYS[1], ARGV[i]) == 1 then
    redis.call('HINCRBY', KEYS[2], ARGV[i + 1], 1)
    added = added + 1
  end
end
if added > 0 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
return added
