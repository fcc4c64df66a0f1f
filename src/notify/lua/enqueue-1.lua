-- enqueue-1.lua: records a delivery, indexes it in its subscription's log and appends it to its group
-- (one insight, one subscription). Only a group's head has a job; the caller adds it when told to.
-- KEYS[1] the delivery hash
-- ARGV[1] key tag  [2] delivery id  [3] subscription id  [4] insight id  [5] now (ms)  [6] ttl (s)
-- ARGV[7] log cap  [8..] more field/value pairs of the delivery
-- Returns 0: already recorded (a re-run), 1: it heads its group (add its job), 2: queued behind others.
-- Derived keys are built from the tag (notify-keys.lua): every key of this script shares one slot.
--!include notify-keys.lua
--!include group-append.lua
local tag, id, sub, ins, now, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'sub', sub, 'ins', ins, 'st', 'pending', 'att', 0, 'base', 0, 'round', 0, 'ca', now, 'ua', now, unpack(ARGV, 8))
redis.call('EXPIRE', KEYS[1], ttl)
local log = key_log(tag, sub)
redis.call('ZADD', log, now, id)
redis.call('EXPIRE', log, ttl)
local cap = tonumber(ARGV[7])
if redis.call('ZCARD', log) > cap then redis.call('ZREMRANGEBYRANK', log, 0, -cap - 1) end
local n = group_append(tag, key_group(tag, sub, ins), id, now, ttl)
if n == 1 then return 1 end
return 2
