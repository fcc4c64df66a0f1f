--[[
  Commits the insight lifecycle's progress, only if the stored state is still the one it started from
  (compare-and-set on the state's lastWindow): a closer that lost its lock, or raced another one over
  the same windows, writes nothing, so every insight event is recorded (and queued for delivery) once.
  Every key is in the `{<prefix>:i}` slot.
  KEYS[1] state (JSON)
  KEYS[2] insight index (zset: id by start time)
  KEYS[3] feed (list)
  KEYS[4] outbox (list)
  KEYS[5..] for each event, in order: its insight's document, its insight's event list
  ARGV[1] the lastWindow of the state the caller started from ('' = no state yet)
  ARGV[2] ttl (s)
  ARGV[3] new state (JSON)
  ARGV[4] '1' to queue the events in the outbox
  ARGV[5] feed length kept
  ARGV[6..] for each event, in order: insight start time, insight id, insight JSON, event JSON
  Returns 1 when committed, 0 when fenced out (nothing written).
]]
local raw = redis.call('GET', KEYS[1])
local last = nil
if raw then
  local lw = cjson.decode(raw).lastWindow
  if type(lw) == 'number' then last = lw end
end
if last ~= tonumber(ARGV[1]) then return 0 end
local ttl = ARGV[2]
redis.call('SET', KEYS[1], ARGV[3], 'EX', ttl)
local n = (#ARGV - 5) / 4
for i = 0, n - 1 do
  local a = 6 + 4 * i
  local doc, evs = KEYS[5 + 2 * i], KEYS[6 + 2 * i]
  redis.call('SET', doc, ARGV[a + 2], 'EX', ttl)
  redis.call('ZADD', KEYS[2], ARGV[a], ARGV[a + 1])
  redis.call('RPUSH', evs, ARGV[a + 3])
  redis.call('EXPIRE', evs, ttl)
  redis.call('RPUSH', KEYS[3], ARGV[a + 3])
  if ARGV[4] == '1' then redis.call('RPUSH', KEYS[4], ARGV[a + 3]) end
end
if n > 0 then
  if ARGV[4] == '1' then redis.call('EXPIRE', KEYS[4], ttl) end
  redis.call('LTRIM', KEYS[3], -tonumber(ARGV[5]), -1)
  redis.call('EXPIRE', KEYS[3], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
end
return 1
