-- finish-1.lua: records an attempt's outcome; when the delivery is settled (delivered or dead-lettered)
-- updates its subscription (failure run, disabling) and moves its group on to the next delivery.
-- A job that is not the delivery's current round, or whose delivery is already settled (its worker died
-- after settling it), records nothing but still returns the group's head, so its job can be re-added.
-- KEYS[1] the delivery hash
-- ARGV[1] key tag  [2] delivery id  [3] the job's round  [4] outcome: delivered | retry | dead | gone | skip
-- ARGV[5] now (ms)  [6] attempt number in this round ('' when no request was made)  [7] HTTP status ('' none)
-- ARGV[8] latency ms  [9] error ('' none)  [10] next attempt at (ms, retry)  [11] ttl (s)
-- ARGV[12] failures that disable  [13] subscription ttl (s)  [14] dead-letter reason
-- Returns {state, disabledReason or '', subscription id, attempts, head id, head round, head event key}
-- Derived keys are built from the tag (notify-keys.lua): every key of this script shares one slot.
--!include notify-keys.lua
--!include group-head.lua
local tag, id, outcome, now, ttl = ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[11]
local d = redis.call('HMGET', KEYS[1], 'sub', 'ins', 'round', 'st', 'base', 'att')
if not d[1] then return {'missing', '', '', '', '', '', ''} end
local sub, ins = d[1], d[2]
local state, disabled, att = outcome, '', tonumber(d[6])
if d[3] ~= ARGV[3] then
  state = 'stale'
elseif d[4] == 'delivered' or d[4] == 'dead' then
  state = 'done'
else
  if ARGV[6] ~= '' then
    att = tonumber(d[5]) + tonumber(ARGV[6])
    redis.call('HSET', KEYS[1], 'att', att, 'code', ARGV[7], 'ms', ARGV[8], 'err', ARGV[9], 'la', now)
    -- the attempt log keeps deliveries that needed more than one attempt (a first-time success says it all)
    if outcome ~= 'delivered' or tonumber(ARGV[6]) > 1 then
      local a = key_attempts(tag, id)
      redis.call('RPUSH', a, cjson.encode({
        attempt = att, at = tonumber(now), status = tonumber(ARGV[7]) or cjson.null,
        latencyMs = tonumber(ARGV[8]) or cjson.null, error = ARGV[9] ~= '' and ARGV[9] or cjson.null }))
      redis.call('LTRIM', a, -20, -1)
      redis.call('EXPIRE', a, ttl)
    end
  end
  redis.call('HSET', KEYS[1], 'ua', now)
  if outcome == 'retry' then
    redis.call('HSET', KEYS[1], 'st', 'retrying', 'next', ARGV[10])
    return {'retrying', '', sub, att, '', '', ''}
  end
  local s = key_sub(tag, sub)
  local active = redis.call('HGET', s, 'status') == 'active'
  if outcome == 'delivered' then
    redis.call('HSET', KEYS[1], 'st', 'delivered', 'da', now, 'next', '')
    if active then
      if redis.call('HGET', s, 'failures') ~= '0' then redis.call('HSET', s, 'failures', 0) end
      redis.call('EXPIRE', s, ARGV[13])
    end
  else
    state = 'dead'
    redis.call('HSET', KEYS[1], 'st', 'dead', 'dead', now, 'reason', ARGV[14], 'next', '')
    if active then
      if outcome == 'gone' then
        disabled = 'gone'
      elseif outcome == 'dead' then
        if redis.call('HINCRBY', s, 'failures', 1) >= tonumber(ARGV[12]) then disabled = 'failures' end
      end
      if disabled ~= '' then redis.call('HSET', s, 'status', 'disabled', 'disabledReason', disabled, 'disabledAt', now, 'updatedAt', now) end
    end
  end
end
-- the group moves on (a stale job leaves it alone: the current round's job owns the head)
local g = key_group(tag, sub, ins)
if state ~= 'stale' and redis.call('LINDEX', g, 0) == id then redis.call('LPOP', g) end
local head = live_head(tag, g)
if not head then
  redis.call('ZREM', key_groups(tag), g)
  return {state, disabled, sub, att or '', '', '', ''}
end
redis.call('ZADD', key_groups(tag), now, g)
local h = redis.call('HMGET', key_delivery(tag, head), 'round', 'ev')
return {state, disabled, sub, att or '', head, h[1], h[2]}
