-- hset-if-exists-1.lua: updates fields of a hash only if it exists (a deleted subscription stays
-- deleted) and refreshes its TTL.
-- KEYS[1] the hash
-- ARGV[1] ttl (s)  [2..] field/value pairs
-- Returns 1 when updated, 0 when the hash does not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
