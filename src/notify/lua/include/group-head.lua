--!include notify-keys.lua
-- group-head.lua: the head of group g whose delivery still exists. Heads whose delivery expired are
-- dropped on the way: a group must not wait on a delivery that is gone.
local function live_head(tag, g)
  local head
  while true do
    head = redis.call('LINDEX', g, 0)
    if not head or redis.call('EXISTS', key_delivery(tag, head)) == 1 then break end
    redis.call('LPOP', g)
  end
  return head
end
