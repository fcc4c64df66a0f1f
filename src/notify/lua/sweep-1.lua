-- sweep-1.lua: groups with no progress for a while: drops heads whose delivery expired and returns the
-- live heads, so their jobs can be re-added (adding a job id that exists is a no-op). Covers a process
-- that died between recording a delivery and adding its job.
-- KEYS[1] the groups sorted set
-- ARGV[1] key tag  [2] idle since (ms)  [3] now (ms)  [4] at most this many groups
-- Returns {id1, round1, sub1, event1, id2, ...}
--!include notify-keys.lua
--!include group-head.lua
local tag = ARGV[1]
local out = {}
for _, g in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))) do
  local head = live_head(tag, g)
  if head then
    redis.call('ZADD', KEYS[1], ARGV[3], g)
    local h = redis.call('HMGET', key_delivery(tag, head), 'round', 'sub', 'ev')
    out[#out + 1] = head
    out[#out + 1] = h[1]
    out[#out + 1] = h[2]
    out[#out + 1] = h[3]
  else
    redis.call('ZREM', KEYS[1], g)
  end
end
return out
