-- Shared by every dispatch script (prepended to each by redis-dispatch-store.ts). KEYS[1] is the
-- store's prefix, which carries the one hash tag of all dispatch keys, so every key built here
-- lives in that slot: on a Redis Cluster each script runs on the one node that owns it.
-- Numbers going back to Redis are formatted here: Lua's own tostring keeps 14 digits only.
local P = KEYS[1]
local function k(...) return P .. ':' .. table.concat({...}, ':') end
local function num(n) return string.format('%.0f', n) end
-- Separates the tokens of an agent's capabilities string (k('caps')): `<sep>l:en<sep>s:billing<sep>`.
local CAPS_SEP = '\31'

local function agentOf(id)
  local raw = redis.call('HGET', k('agents'), id)
  if not raw then return nil end
  return cjson.decode(raw)
end
local function loadOf(id) return redis.call('SCARD', k('load', id)) end
local function idleOf(id) return tonumber(redis.call('HGET', k('idle'), id) or '0') end

-- An agent is in a group's availability while online with room; lowest score first: the least
-- busy, then the longest idle (load * 1e13 + idle since ms).
local function rescore(id)
  local a = agentOf(id)
  if not a then return end
  local load = loadOf(id)
  local free = a.status == 'online' and load < tonumber(a.maxConcurrent)
  local score = num(load * 1e13 + idleOf(id))
  for _, g in ipairs(a.groups) do
    if free then redis.call('ZADD', k('av', g), score, id) else redis.call('ZREM', k('av', g), id) end
  end
end

local function takeLoad(agentId, conv, now)
  redis.call('SADD', k('load', agentId), conv)
  if redis.call('HEXISTS', k('agents'), agentId) == 1 then redis.call('HSET', k('idle'), agentId, now) end
  rescore(agentId)
end
local function giveLoad(agentId, conv)
  local removed = redis.call('SREM', k('load', agentId), conv)
  rescore(agentId)
  return removed
end

-- Offers are hashes: id, c (conversation), a (agent), g (group), m (made), x (expires),
-- s (open|accepted), t (accepted at). Returned to the adapter as HGETALL's flat list.
local function offerOf(id)
  local flat = redis.call('HGETALL', k('o', id))
  if #flat == 0 then return nil, flat end
  local o = {}
  for i = 1, #flat, 2 do o[flat[i]] = flat[i + 1] end
  return o, flat
end
local function makeOffer(id, conv, agentId, g, now, expires, state)
  local fields = {'id', id, 'c', conv, 'a', agentId, 'g', g, 'm', now, 'x', expires, 's', state}
  if state == 'accepted' then
    fields[#fields + 1] = 't'
    fields[#fields + 1] = now
    redis.call('ZADD', k('unc'), now, id)
  else
    redis.call('ZADD', k('oexp'), expires, id)
    redis.call('SADD', k('gopen', g), id)
  end
  redis.call('HSET', k('o', id), unpack(fields))
  redis.call('HSET', k('co'), conv, id)
  return fields
end
local function dropOffer(id, o)
  if redis.call('HGET', k('co'), o.c) == id then redis.call('HDEL', k('co'), o.c) end
  redis.call('ZREM', k('oexp'), id)
  redis.call('ZREM', k('unc'), id)
  redis.call('SREM', k('gopen', o.g), id)
  redis.call('DEL', k('o', id))
end

local function counter(g, name, by)
  if g == '' then return end
  redis.call('HINCRBY', k('c', g), name, by or 1)
end

-- The entry leaves dispatch altogether (taken, dequeued): queue, entry and exclusions.
local function forgetEntry(conv)
  local raw = redis.call('HGET', k('e'), conv)
  if not raw then return nil, {} end
  local g = cjson.decode(raw).group
  local excluded = redis.call('SMEMBERS', k('x', conv))
  redis.call('ZREM', k('q', g), conv)
  redis.call('ZREM', k('qa', g), conv)
  redis.call('HDEL', k('e'), conv)
  redis.call('DEL', k('x', conv))
  return raw, excluded
end

-- An offer ended unanswered (expired, declined): the entry back at its rank, the agent excluded.
local function requeue(conv, agentId)
  local raw = redis.call('HGET', k('e'), conv)
  if not raw then return end
  local e = cjson.decode(raw)
  redis.call('ZADD', k('q', e.group), string.format('%.17g', e.rank), conv)
  redis.call('ZADD', k('qa', e.group), string.format('%.17g', e.enqueuedAtMs), conv)
  redis.call('SADD', k('x', conv), agentId)
end
