-- One lineage index (a conversation's or a business record's), in one hash-tag slot:
-- KEYS[1] the sorted set (member: entry id, score: when its call ended, epoch ms),
-- KEYS[2] the hash of the entries (entry id -> entry JSON).
-- ARGV: entry id, score, entry JSON, oldest score kept (now - retention), most members kept, ttl ms.
-- Adds the entry once (idempotent by id), drops what is past the retention and the oldest past
-- the bound, and lets both keys lapse a retention after the last write. Returns 1 when added.
local id, score, json = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local floor, max, ttl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local added = 0
if score >= floor and redis.call('HSETNX', KEYS[2], id, json) == 1 then
  redis.call('ZADD', KEYS[1], score, id)
  added = 1
end
local function drop(ids)
  if #ids > 0 then
    redis.call('ZREM', KEYS[1], unpack(ids))
    redis.call('HDEL', KEYS[2], unpack(ids))
  end
end
drop(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. floor, 'LIMIT', 0, 1000))
local over = redis.call('ZCARD', KEYS[1]) - max
if over > 0 then drop(redis.call('ZRANGE', KEYS[1], 0, math.min(over, 1000) - 1)) end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return added
