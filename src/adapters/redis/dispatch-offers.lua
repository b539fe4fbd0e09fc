-- Offers and their ends (see redis-dispatch-store.ts). ARGV[1] names the operation.
-- Offer hashes k('o', id); k('co') conversation -> its offer; k('oexp') open offers by expiry;
-- k('unc') accepted offers by accepted time, until confirmed; k('gopen', g) a group's open offers.
-- A refusal returns {'!', code, detail}.
local op = ARGV[1]

local function openOffer(id, agentId, now)
  local o, flat = offerOf(id)
  if not o or o.s ~= 'open' or o.a ~= agentId or tonumber(o.x) <= now then return nil end
  return o, flat
end

if op == 'accept' or op == 'decline' then
  -- ARGV: 2 offer id, 3 agent id, 4 now
  local id, agentId, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
  local o, flat = openOffer(id, agentId, now)
  if not o then return {'!', 'OFFER_EXPIRED', 'offer ' .. id .. ' is not open for agent ' .. agentId} end
  redis.call('HDEL', k('miss'), agentId)
  if op == 'decline' then
    dropOffer(id, o)
    giveLoad(agentId, o.c)
    requeue(o.c, agentId)
    counter(o.g, 'declined')
    return flat
  end
  redis.call('HSET', k('o', id), 's', 'accepted', 't', ARGV[4])
  redis.call('ZREM', k('oexp'), id)
  redis.call('SREM', k('gopen', o.g), id)
  redis.call('ZADD', k('unc'), ARGV[4], id)
  forgetEntry(o.c)
  counter(o.g, 'accepted')
  return redis.call('HGETALL', k('o', id))
end

if op == 'take' then
  -- ARGV: 2 conversation, 3 agent id, 4 now, 5 force (1|0), 6 group ('' none), 7 new offer id
  local conv, agentId, now, force = ARGV[2], ARGV[3], ARGV[4], ARGV[5] == '1'
  local currentId = redis.call('HGET', k('co'), conv)
  local current = currentId and offerOf(currentId)
  if current and current.s == 'accepted' then
    if current.a == agentId then return redis.call('HGETALL', k('o', currentId)) end
    return {'!', 'CONVERSATION_ALREADY_ASSIGNED', 'agent ' .. current.a .. ' has accepted conversation ' .. conv}
  end
  local a = agentOf(agentId)
  if a and not force and redis.call('SISMEMBER', k('load', agentId), conv) == 0 and loadOf(agentId) >= tonumber(a.maxConcurrent) then
    return {'!', 'AGENT_AT_CAPACITY', 'agent ' .. agentId .. ' holds ' .. a.maxConcurrent .. ' conversations, its maximum'}
  end
  local g = ARGV[6]
  if current then
    dropOffer(currentId, current)
    if current.a ~= agentId then giveLoad(current.a, conv) end
    if g == '' then g = current.g end
  end
  local raw = forgetEntry(conv)
  if g == '' and raw then g = cjson.decode(raw).group end
  takeLoad(agentId, conv, now)
  return makeOffer(ARGV[7], conv, agentId, g, now, now, 'accepted')
end

if op == 'confirm' then
  -- ARGV: 2 offer id. Only an accepted offer is confirmed; anything else is a no-op.
  local id = ARGV[2]
  local o = offerOf(id)
  if not o or o.s ~= 'accepted' then return 0 end
  dropOffer(id, o)
  if o.g ~= '' then
    counter(o.g, 'assigned')
    redis.call('ZADD', k('done', o.g), o.t, id)
    redis.call('ZREMRANGEBYSCORE', k('done', o.g), '-inf', '(' .. num(tonumber(o.t) - 60000))
  end
  return 1
end

if op == 'unconfirmed' then
  -- ARGV: 2 accepted at or before, 3 limit -> offers flat
  local out = {}
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', k('unc'), '-inf', ARGV[2], 'LIMIT', 0, ARGV[3])) do
    local o, flat = offerOf(id)
    if o then out[#out + 1] = flat else redis.call('ZREM', k('unc'), id) end
  end
  return out
end

if op == 'expire' then
  -- ARGV: 2 now, 3 limit -> {offer flat, misses} per expired offer
  local out = {}
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', k('oexp'), '-inf', ARGV[2], 'LIMIT', 0, ARGV[3])) do
    local o, flat = offerOf(id)
    if o then
      dropOffer(id, o)
      giveLoad(o.a, o.c)
      requeue(o.c, o.a)
      counter(o.g, 'expired')
      out[#out + 1] = {flat, redis.call('HINCRBY', k('miss'), o.a, 1)}
    else
      redis.call('ZREM', k('oexp'), id)
    end
  end
  return out
end

return redis.error_reply('unknown dispatch offers operation ' .. tostring(op))
