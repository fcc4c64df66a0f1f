--!include notify-keys.lua
-- group-append.lua: appends a delivery to group g and marks the group active now (for the sweep).
-- Returns the group's length: 1 when the delivery heads it (its job is to be added).
local function group_append(tag, g, id, now, ttl)
  local n = redis.call('RPUSH', g, id)
  redis.call('EXPIRE', g, ttl)
  local groups = key_groups(tag)
  redis.call('ZADD', groups, now, g)
  redis.call('EXPIRE', groups, ttl)
  return n
end
