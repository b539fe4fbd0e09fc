-- The claim (see redis-dispatch-store.ts and DispatchStore.claim): the first entry of a group's
-- queue, at most `depth` deep, that an eligible agent can take gets an offer to the sticky agent
-- (when eligible) or to the first eligible agent of the group's availability (least busy, then
-- longest idle), looking at most `limit` agents deep.
-- ARGV: 1 group, 2 now, 3 offer ttl ms, 4 auto-assign (1|0), 5 depth, 6 offer id, 7 agent limit
-- Returns false, or {offer flat, entry JSON, excluded, reason, candidates flat, passed over}.
local g, now, ttl, auto = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1'
local depth, offerId, limit = tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])

-- The availability is read in chunks as far as needed, with its scores (load × 1e13 + idle
-- since): the first chunk holds the 10 candidates an entry without requirements lists. Every
-- member is online, in the group and has room (rescore keeps it so), so such an entry needs no
-- agent profile read.
local available, scores = {}, {}
local exhausted = false
local function availableAt(i)
  if i > #available and not exhausted and #available < limit then
    local CHUNK = #available == 0 and 12 or 64
    local more = redis.call('ZRANGE', k('av', g), #available, math.min(limit, #available + CHUNK) - 1, 'WITHSCORES')
    for j = 1, #more, 2 do
      available[#available + 1] = more[j]
      scores[more[j]] = tonumber(more[j + 1])
    end
    exhausted = #more < CHUNK * 2
  end
  return available[i]
end
-- An empty queue (the last claim of every pump) costs one command.
if depth <= 0 or redis.call('ZCARD', k('q', g)) == 0 or not availableAt(1) then return false end

-- The sticky agent is looked up in full; the others' capabilities come from k('caps'), one
-- string per agent (see dispatch-agents.lua), read once per script.
local function stickyFacts(id)
  local a = agentOf(id)
  if not a then return nil end
  local inGroup = false
  for _, x in ipairs(a.groups) do if x == g then inGroup = true end end
  return { load = loadOf(id), max = tonumber(a.maxConcurrent), free = a.status == 'online' and inGroup, idle = idleOf(id) }
end
local capsOf = {}
-- `at`: the agent's place in the availability; its caps are read with the next 63 agents' at once.
local function fits(id, needs, at)
  if #needs == 0 then return true end
  local c = capsOf[id]
  if c == nil then
    if at then
      local ids = {}
      for j = at, math.min(#available, at + 63) do
        if capsOf[available[j]] == nil then ids[#ids + 1] = available[j] end
      end
      local found = redis.call('HMGET', k('caps'), unpack(ids))
      for j, agentId in ipairs(ids) do capsOf[agentId] = found[j] or false end
    else
      capsOf[id] = redis.call('HGET', k('caps'), id) or false
    end
    c = capsOf[id]
  end
  if not c then return false end
  for _, token in ipairs(needs) do if not string.find(c, token, 1, true) then return false end end
  return true
end
-- What an entry asks of an agent beyond being free in the group, as tokens of the caps string.
local function needsOf(entry)
  local needs = {}
  for _, s in ipairs(entry.skills) do needs[#needs + 1] = CAPS_SEP .. 's:' .. s .. CAPS_SEP end
  if type(entry.language) == 'string' then needs[#needs + 1] = CAPS_SEP .. 'l:' .. entry.language .. CAPS_SEP end
  return needs
end
-- The candidates as the outcome lists them: load and idle time from their scores, maxima in one read.
local function describe(candidates, sticky)
  local maxima = redis.call('HMGET', k('max'), unpack(candidates))
  local out = {}
  for n, id in ipairs(candidates) do
    local score = scores[id]
    if n == 1 and sticky then
      out[n] = {id, sticky.load, sticky.max, num(sticky.idle)}
    else
      local load = math.floor(score / 1e13)
      out[n] = {id, load, tonumber(maxima[n]), num(score - load * 1e13)}
    end
  end
  return out
end
-- Requirements no available agent meets (exclusions aside): later entries asking the same are passed over at once.
local hopeless = {}

-- The queue is read in chunks too: the first entry is usually the one offered.
local QCHUNK = 8
local queued, queueDone, dropped = {}, false, 0
local function queuedAt(i)
  if i > #queued and not queueDone and #queued < depth then
    local from = #queued - dropped
    local more = redis.call('ZRANGE', k('q', g), from, from + math.min(depth - #queued, QCHUNK) - 1)
    for _, conv in ipairs(more) do queued[#queued + 1] = conv end
    queueDone = #more < QCHUNK
  end
  return queued[i]
end

local passedOver = 0
local n = 1
local conv = queuedAt(1)
while conv do
  local raw = redis.call('HGET', k('e'), conv)
  if not raw then
    -- A queue member without its entry cannot be offered: drop it rather than scan it forever.
    redis.call('ZREM', k('q', g), conv)
    redis.call('ZREM', k('qa', g), conv)
    dropped = dropped + 1
  else
    local entry = cjson.decode(raw)
    local needs = needsOf(entry)
    local signature = table.concat(needs)
    local excludedList = redis.call('SMEMBERS', k('x', conv))
    local excluded = {}
    for _, x in ipairs(excludedList) do excluded[x] = true end
    local chosen, reason, sticky = nil, 'least_busy', nil
    local candidates = {}
    local stickyId = entry.stickyAgentId
    if type(stickyId) == 'string' and not excluded[stickyId] then
      local f = stickyFacts(stickyId)
      if f and f.free and f.load < f.max and fits(stickyId, needs) then
        chosen, reason, sticky = stickyId, 'sticky', f
        candidates[1] = stickyId
      end
    end
    if not hopeless[signature] then
      local anyFits = chosen ~= nil
      local i = 1
      local id = availableAt(1)
      while id and #candidates < 10 do
        if id ~= chosen and fits(id, needs, i) then
          anyFits = true
          if not excluded[id] then
            candidates[#candidates + 1] = id
            chosen = chosen or id
          end
        end
        i = i + 1
        id = availableAt(i)
      end
      if not anyFits then hopeless[signature] = true end
    end
    if chosen then
      local described = describe(candidates, sticky)
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
  n = n + 1
  conv = queuedAt(n)
end
return false
