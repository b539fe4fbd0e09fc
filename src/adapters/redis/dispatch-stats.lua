-- Numbers and sticky memory (see redis-dispatch-store.ts). ARGV[1] names the operation.
-- Counters: hash k('c', g); confirmed assignments by accepted time: k('done', g), the last minute.
local op = ARGV[1]

if op == 'stats' then
  -- ARGV: 2 now -> per group {group, queued, oldest enqueued at|false, open offers,
  --   {online, away, offline, load, capacity}, counters flat, assigned in the last 60 s}
  local out = {}
  for _, g in ipairs(redis.call('SMEMBERS', k('groups'))) do
    local oldest = redis.call('ZRANGE', k('qa', g), 0, 0, 'WITHSCORES')
    local agents = {online = 0, away = 0, offline = 0, load = 0, capacity = 0}
    for _, id in ipairs(redis.call('SMEMBERS', k('gagents', g))) do
      local a = agentOf(id)
      if a then
        agents[a.status] = (agents[a.status] or 0) + 1
        agents.load = agents.load + loadOf(id)
        if a.status == 'online' then agents.capacity = agents.capacity + tonumber(a.maxConcurrent) end
      end
    end
    out[#out + 1] = {
      g, redis.call('ZCARD', k('q', g)), oldest[2] or false, redis.call('SCARD', k('gopen', g)),
      {agents.online, agents.away, agents.offline, agents.load, agents.capacity},
      redis.call('HGETALL', k('c', g)),
      redis.call('ZCOUNT', k('done', g), '(' .. num(tonumber(ARGV[2]) - 60000), '+inf'),
    }
  end
  return out
end

if op == 'count' then
  -- ARGV: 2 group, 3 counter, 4 by
  -- The only counter of a group that may have had no queue and no agents yet: it joins the groups here.
  counter(ARGV[2], ARGV[3], tonumber(ARGV[4]))
  if ARGV[2] ~= '' then redis.call('SADD', k('groups'), ARGV[2]) end
  return 1
end

if op == 'remember' then
  -- ARGV: 2 customer key, 3 agent id, 4 ttl ms
  redis.call('SET', k('sticky', ARGV[2]), ARGV[3], 'PX', ARGV[4])
  return 1
end

if op == 'last' then
  return redis.call('GET', k('sticky', ARGV[2])) or false
end

return redis.error_reply('unknown dispatch stats operation ' .. tostring(op))
