--[[
  Extends a lock only if this holder still owns it.
  KEYS[1] lock
  ARGV[1] holder token
  ARGV[2] new time to live (ms)
  Returns 1 when extended, 0 when the lock is lost (expired, or someone else's now).
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
