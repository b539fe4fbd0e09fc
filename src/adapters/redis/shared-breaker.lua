-- One breaker's cluster state (redis-shared-breaker-store.ts). KEYS: 1 window hash, 2 state hash,
-- 3 trial key; all share the breaker's hash tag. ARGV[1] is the operation. Times are Redis's.
-- Window fields: `<bucket>|<node>|c` (calls) and `<bucket>|<node>|f` (failures).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local op = ARGV[1]
local STATE_TTL_MS = 86400000
local CLOSED_TTL_MS = 600000

local function state()
  local s = redis.call('HMGET', KEYS[2], 'phase', 'generation', 'until')
  local phase = s[1] or 'closed'
  local hold = 0
  if phase == 'open' then hold = math.max(0, tonumber(s[3]) - now) end
  return phase, tonumber(s[2] or '0'), hold
end

if op == 'sync' then
  -- ARGV: node, calls, failures, windowMs, buckets
  local windowMs, buckets = tonumber(ARGV[5]), tonumber(ARGV[6])
  local bucketMs = math.max(1, math.floor(windowMs / buckets))
  local bucket = math.floor(now / bucketMs)
  -- A node that reports nothing is still counted in: it watches this breaker.
  redis.call('HINCRBY', KEYS[1], bucket .. '|' .. ARGV[2] .. '|c', tonumber(ARGV[3]))
  redis.call('HINCRBY', KEYS[1], bucket .. '|' .. ARGV[2] .. '|f', tonumber(ARGV[4]))
  redis.call('PEXPIRE', KEYS[1], windowMs * 2)
  local fields = redis.call('HGETALL', KEYS[1])
  local window = {}
  for i = 1, #fields, 2 do
    local b, node, kind = string.match(fields[i], '^(%d+)|(.+)|([cf])$')
    if b == nil or tonumber(b) <= bucket - buckets then
      redis.call('HDEL', KEYS[1], fields[i])
    else
      window[#window + 1] = node
      window[#window + 1] = kind
      window[#window + 1] = fields[i + 1]
    end
  end
  local phase, generation, hold = state()
  return { phase, generation, hold, window }
end

local phase, generation, hold = state()
local expected = tonumber(ARGV[2])

if op == 'open' then
  -- ARGV: generation, holdMs
  if generation == expected then
    generation = generation + 1
    phase, hold = 'open', tonumber(ARGV[3])
    redis.call('HSET', KEYS[2], 'phase', phase, 'generation', generation, 'until', now + hold)
    redis.call('PEXPIRE', KEYS[2], STATE_TTL_MS)
    redis.call('DEL', KEYS[3])
  end
  return { phase, generation, hold }
end

if op == 'claim' then
  -- ARGV: generation, holder, ttlMs
  if phase ~= 'open' or generation ~= expected or hold > 0 then return 0 end
  if redis.call('SET', KEYS[3], ARGV[3], 'NX', 'PX', tonumber(ARGV[4])) then return 1 end
  return 0
end

if op == 'close' then
  -- ARGV: generation
  if phase == 'open' and generation == expected then
    generation = generation + 1
    phase, hold = 'closed', 0
    redis.call('HSET', KEYS[2], 'phase', phase, 'generation', generation, 'until', now)
    -- A closed breaker needs no state: it only keeps the generation for the nodes' next sync.
    redis.call('PEXPIRE', KEYS[2], CLOSED_TTL_MS)
    redis.call('DEL', KEYS[1], KEYS[3])
  end
  return { phase, generation, hold }
end

return redis.error_reply('unknown operation ' .. tostring(op))
