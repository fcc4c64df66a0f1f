--[[
  Removes events handed to delivery from the head of the outbox: each only if it is still there, in
  order. Two drainers that took the same events cannot remove more than were handed over (a plain LTRIM
  by count would drop events committed meanwhile, never delivered).
  KEYS[1] outbox
  ARGV[1..] the events handed over, oldest first, exactly as read
  Returns how many were removed.
]]
local n = 0
for i = 1, #ARGV do
  if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[i] then break end
  redis.call('LPOP', KEYS[1])
  n = n + 1
end
return n
