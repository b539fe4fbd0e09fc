-- The groups' queues (see redis-dispatch-store.ts). ARGV[1] names the operation.
-- Queue of a group: k('q', g) sorted by rank, k('qa', g) the same members by enqueued time;
-- entries: hash k('e') conversation -> entry JSON (kept while queued or offered);
-- exclusions: set k('x', conversation).
local op = ARGV[1]

if op == 'enqueue' then
  -- ARGV: 2 conversation, 3 group, 4 rank, 5 enqueued at, 6 entry JSON, 7.. excluded agents
  local conv, g = ARGV[2], ARGV[3]
  if redis.call('HSETNX', k('e'), conv, ARGV[6]) == 0 then return 0 end
  redis.call('ZADD', k('q', g), ARGV[4], conv)
  redis.call('ZADD', k('qa', g), ARGV[5], conv)
  redis.call('SADD', k('groups'), g)
  redis.call('DEL', k('x', conv))
  for i = 7, #ARGV do redis.call('SADD', k('x', conv), ARGV[i]) end
  return 1
end

if op == 'dequeue' then
  -- ARGV: 2 conversation. Its open offer goes too (the agent's load down); an accepted one stays.
  local conv = ARGV[2]
  local current = redis.call('HGET', k('co'), conv)
  if current then
    local o = offerOf(current)
    if o and o.s == 'open' then
      dropOffer(current, o)
      giveLoad(o.a, conv)
    end
  end
  local raw, excluded = forgetEntry(conv)
  if not raw then return false end
  return {raw, excluded}
end

if op == 'entries' then
  -- ARGV: 2.. conversations -> per conversation {entry JSON, excluded} or false
  local out = {}
  for i = 2, #ARGV do
    local raw = redis.call('HGET', k('e'), ARGV[i])
    if raw then out[#out + 1] = {raw, redis.call('SMEMBERS', k('x', ARGV[i]))} else out[#out + 1] = false end
  end
  return out
end

if op == 'queue' then
  -- ARGV: 2 group, 3 limit -> {entry JSON, excluded} in rank order
  local out = {}
  if tonumber(ARGV[3]) <= 0 then return out end
  for _, conv in ipairs(redis.call('ZRANGE', k('q', ARGV[2]), 0, tonumber(ARGV[3]) - 1)) do
    local raw = redis.call('HGET', k('e'), conv)
    if raw then out[#out + 1] = {raw, redis.call('SMEMBERS', k('x', conv))} end
  end
  return out
end

if op == 'positions' then
  -- ARGV: 2.. conversations -> flat {conversation, group, position} of the queued ones
  local out = {}
  for i = 2, #ARGV do
    local raw = redis.call('HGET', k('e'), ARGV[i])
    if raw then
      local g = cjson.decode(raw).group
      local rank = redis.call('ZRANK', k('q', g), ARGV[i])
      if rank then
        out[#out + 1] = ARGV[i]
        out[#out + 1] = g
        out[#out + 1] = rank + 1
      end
    end
  end
  return out
end

return redis.error_reply('unknown dispatch queue operation ' .. tostring(op))
