-- The agents as dispatch sees them (see redis-dispatch-store.ts). ARGV[1] names the operation.
-- Profiles: hash k('agents') id -> JSON; k('idle') id -> idle since ms; k('miss') id -> misses;
-- load: set k('load', id) of conversations; k('gagents', g) every agent of a group (any status).
local op = ARGV[1]

if op == 'set' then
  -- ARGV: 2 agent id, 3 profile JSON, 4 now
  local id, now = ARGV[2], ARGV[4]
  local old = agentOf(id)
  local new = cjson.decode(ARGV[3])
  local keep = {}
  for _, g in ipairs(new.groups) do keep[g] = true end
  if old then
    for _, g in ipairs(old.groups) do
      if not keep[g] then
        redis.call('ZREM', k('av', g), id)
        redis.call('SREM', k('gagents', g), id)
      end
    end
  end
  for g in pairs(keep) do
    redis.call('SADD', k('gagents', g), id)
    redis.call('SADD', k('groups'), g)
  end
  local cameOnline = new.status == 'online' and (not old or old.status ~= 'online')
  if cameOnline or redis.call('HEXISTS', k('idle'), id) == 0 then redis.call('HSET', k('idle'), id, now) end
  if cameOnline then redis.call('HDEL', k('miss'), id) end
  redis.call('HSET', k('agents'), id, ARGV[3])
  redis.call('HSET', k('max'), id, new.maxConcurrent)
  local caps = {''}
  for _, l in ipairs(new.languages) do caps[#caps + 1] = 'l:' .. l end
  for _, s in ipairs(new.skills) do caps[#caps + 1] = 's:' .. s end
  caps[#caps + 1] = ''
  redis.call('HSET', k('caps'), id, table.concat(caps, CAPS_SEP))
  rescore(id)
  return 1
end

if op == 'remove' then
  -- ARGV: 2 agent id. Its load set stays: what it holds is its own until released.
  local id = ARGV[2]
  local a = agentOf(id)
  if not a then return 0 end
  for _, g in ipairs(a.groups) do
    redis.call('ZREM', k('av', g), id)
    redis.call('SREM', k('gagents', g), id)
  end
  redis.call('HDEL', k('agents'), id)
  redis.call('HDEL', k('idle'), id)
  redis.call('HDEL', k('miss'), id)
  redis.call('HDEL', k('max'), id)
  redis.call('HDEL', k('caps'), id)
  return 1
end

if op == 'list' then
  -- ARGV: 2 group ('' all) -> per agent {profile JSON, load, idle since, misses}
  local ids = ARGV[2] == '' and redis.call('HKEYS', k('agents')) or redis.call('SMEMBERS', k('gagents', ARGV[2]))
  local out = {}
  for _, id in ipairs(ids) do
    local raw = redis.call('HGET', k('agents'), id)
    if raw then
      out[#out + 1] = {raw, loadOf(id), redis.call('HGET', k('idle'), id) or '0', redis.call('HGET', k('miss'), id) or '0'}
    end
  end
  return out
end

if op == 'release' then
  -- ARGV: 2 conversation, 3 agent id. An offer of it to this agent goes too (open: with its entry).
  local conv, id = ARGV[2], ARGV[3]
  local current = redis.call('HGET', k('co'), conv)
  if current then
    local o = offerOf(current)
    if o and o.a == id then
      dropOffer(current, o)
      if o.s == 'open' then forgetEntry(conv) end
    end
  end
  return giveLoad(id, conv)
end

if op == 'reset' then
  redis.call('HDEL', k('miss'), ARGV[2])
  return 1
end

return redis.error_reply('unknown dispatch agents operation ' .. tostring(op))
