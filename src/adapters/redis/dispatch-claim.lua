-- The claim (see redis-dispatch-store.ts and DispatchStore.claim): the first entry of a group's
-- queue, at most `depth` deep, that an eligible agent can take gets an offer to the sticky agent
-- (when eligible) or to the first eligible agent of the group's availability (least busy, then
-- longest idle), looking at most `limit` agents deep.
-- ARGV: 1 group, 2 now, 3 offer ttl ms, 4 auto-assign (1|0), 5 depth, 6 offer id, 7 agent limit
-- Returns false, or {offer flat, entry JSON, excluded, reason, candidates flat, passed over}.
local g, now, ttl, auto = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1'
local depth, offerId, limit = tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])

-- The availability is read in chunks as far as needed: most claims stop in the first.
local CHUNK = 64
local available = redis.call('ZRANGE', k('av', g), 0, math.min(limit, CHUNK) - 1)
if #available == 0 or depth <= 0 then return false end
local exhausted = #available < CHUNK
local function availableAt(i)
  if i > #available and not exhausted and #available < limit then
    local more = redis.call('ZRANGE', k('av', g), #available, math.min(limit, #available + CHUNK) - 1)
    for _, id in ipairs(more) do available[#available + 1] = id end
    exhausted = #more < CHUNK
  end
  return available[i]
end

local seen = {}
local function facts(id)
  local f = seen[id]
  if f == nil then
    f = false
    local a = agentOf(id)
    if a then
      f = { load = loadOf(id), max = tonumber(a.maxConcurrent), online = a.status == 'online', skills = {}, languages = {}, inGroup = false, idle = idleOf(id) }
      for _, s in ipairs(a.skills) do f.skills[s] = true end
      for _, l in ipairs(a.languages) do f.languages[l] = true end
      for _, x in ipairs(a.groups) do if x == g then f.inGroup = true end end
    end
    seen[id] = f
  end
  return f
end
local function eligible(id, entry, excluded)
  local f = facts(id)
  if not f or not f.online or not f.inGroup or f.load >= f.max or excluded[id] then return false end
  for _, s in ipairs(entry.skills) do if not f.skills[s] then return false end end
  if type(entry.language) == 'string' and not f.languages[entry.language] then return false end
  return true
end

local passedOver = 0
for _, conv in ipairs(redis.call('ZRANGE', k('q', g), 0, depth - 1)) do
  local raw = redis.call('HGET', k('e'), conv)
  if not raw then
    -- A queue member without its entry cannot be offered: drop it rather than scan it forever.
    redis.call('ZREM', k('q', g), conv)
    redis.call('ZREM', k('qa', g), conv)
  else
    local entry = cjson.decode(raw)
    local excludedList = redis.call('SMEMBERS', k('x', conv))
    local excluded = {}
    for _, x in ipairs(excludedList) do excluded[x] = true end
    local chosen, reason = nil, 'least_busy'
    local candidates = {}
    local sticky = entry.stickyAgentId
    if type(sticky) == 'string' and eligible(sticky, entry, excluded) then
      chosen, reason = sticky, 'sticky'
      candidates[1] = sticky
    end
    local i = 1
    local id = availableAt(1)
    while id and #candidates < 10 do
      if id ~= chosen and eligible(id, entry, excluded) then
        candidates[#candidates + 1] = id
        chosen = chosen or id
      end
      i = i + 1
      id = availableAt(i)
    end
    if chosen then
      local described = {}
      for _, id in ipairs(candidates) do
        local f = facts(id)
        described[#described + 1] = {id, f.load, f.max, num(f.idle)}
      end
      redis.call('ZREM', k('q', g), conv)
      redis.call('ZREM', k('qa', g), conv)
      takeLoad(chosen, conv, ARGV[2])
      local offer = makeOffer(offerId, conv, chosen, g, ARGV[2], num(now + ttl), auto and 'accepted' or 'open')
      counter(g, 'offered')
      if auto then
        counter(g, 'accepted')
        forgetEntry(conv)
      end
      return {offer, raw, excludedList, reason, described, passedOver}
    end
    passedOver = passedOver + 1
  end
end
return false
