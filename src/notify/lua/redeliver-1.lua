-- redeliver-1.lua: puts a settled (dead-lettered or delivered) delivery back at the end of its group,
-- with a fresh retry schedule and a new round (so its job id is new). Its webhook id does not change.
-- KEYS[1] the delivery hash
-- ARGV[1] key tag  [2] delivery id  [3] now (ms)  [4] ttl (s)
-- Returns {'missing'} | {'busy'} | {'expired'} | {'head' | 'queued', round, subscription id, event key}
--!include notify-keys.lua
--!include group-append.lua
local tag, id, now, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local d = redis.call('HMGET', KEYS[1], 'st', 'sub', 'ins', 'ev', 'att')
if not d[1] then return {'missing'} end
if d[1] ~= 'dead' and d[1] ~= 'delivered' then return {'busy'} end
local ev = key_event(tag, d[4])
if redis.call('EXISTS', ev) == 0 then return {'expired'} end
local r = redis.call('HINCRBY', KEYS[1], 'round', 1)
redis.call('HSET', KEYS[1], 'st', 'pending', 'base', d[5], 'next', '', 'reason', '', 'ua', now)
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', ev, ttl)
local n = group_append(tag, key_group(tag, d[2], d[3]), id, now, ttl)
return {n == 1 and 'head' or 'queued', tostring(r), d[2], d[4]}
