-- One append to a conversation, all or nothing (see redis-conversation-store.ts). Every key
-- carries the conversation's outbox-bucket hash tag, so this runs on one Redis Cluster slot.
-- KEYS: 1 events stream, 2 head hash, 3 client-id hash, 4 outbox stream of the bucket,
--       5.. index sorted sets: first the ones left (ARGV[8] of them), then the ones joined.
-- ARGV: 1 client id ('' none), 2 expected seq, 3 event count, 4 expire ms ('' keep),
--       5 snapshot JSON, 6 index score, 7 conversation id, 8 indexes left, 9 fan-out channel,
--       10 outbox topic, 11 outbox bell channel, then per event: its JSON, its CloudEvent JSON,
--       its fan-out message.
-- Returns {'duplicate'|'conflict'|'appended', seq}.
local clientId = ARGV[1]
if clientId ~= '' then
  local seen = redis.call('HGET', KEYS[3], clientId)
  if seen then return {'duplicate', tonumber(seen)} end
end
local head = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
if head ~= tonumber(ARGV[2]) then return {'conflict', head} end

local count = tonumber(ARGV[3])
for i = 1, count do
  local at = 11 + (i - 1) * 3
  -- Entry ids are 0-<seq>: XRANGE addresses seqs directly, and XADD refuses a seq that is not new.
  redis.call('XADD', KEYS[1], '0-' .. (head + i), 'e', ARGV[at + 1])
  redis.call('XADD', KEYS[4], '*', 'e', ARGV[at + 2], 't', ARGV[10])
end
local seq = head + count
redis.call('HSET', KEYS[2], 'seq', seq, 'snapshot', ARGV[5])
if clientId ~= '' then redis.call('HSET', KEYS[3], clientId, seq) end

local left = tonumber(ARGV[8])
for k = 5, 4 + left do redis.call('ZREM', KEYS[k], ARGV[7]) end
for k = 5 + left, #KEYS do redis.call('ZADD', KEYS[k], ARGV[6], ARGV[7]) end

if ARGV[4] ~= '' then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
else
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[3])
end

-- Published last: a node that hears of an event can already read it. The bell wakes the relay
-- of the outbox bucket, whichever node holds it.
for i = 1, count do redis.call('PUBLISH', ARGV[9], ARGV[11 + (i - 1) * 3 + 3]) end
redis.call('PUBLISH', ARGV[11], KEYS[4])
return {'appended', seq}
