import type { AgentPresence, PresenceChange, PresenceStore } from '../../ports/presence-store.ts';
import type { RedisHandle } from './redis-client.ts';

// One hash tag for every presence key: the scripts touch the lease index and an agent's hash
// together, which a Redis Cluster allows only within one slot.
const LEASES = 'omnigate:presence:{presence}:leases';
const AGENT_PREFIX = 'omnigate:presence:{presence}:agent:';

/** Lua: an agent's presence from its hash of socket → status. */
const STATUS_OF = `local function status_of(key)
  local vals = redis.call('HVALS', key)
  if #vals == 0 then return 'offline' end
  for _, v in ipairs(vals) do if v == 'online' then return 'online' end end
  return 'away'
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;
/** KEYS: leases, agent hash. ARGV: agentId, socketId, status, ttlMs. */
const SET = `${STATUS_OF}local before = status_of(KEYS[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1] .. '\\n' .. ARGV[2])
return {before, status_of(KEYS[2])}`;
/** KEYS: leases, agent hash. ARGV: agentId, socketId. */
const REMOVE = `${STATUS_OF}local before = status_of(KEYS[2])
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[1], ARGV[1] .. '\\n' .. ARGV[2])
return {before, status_of(KEYS[2])}`;
/** KEYS: leases. ARGV: agent hash prefix, batch. Flat {agentId, before, after, …}, one per agent. */
const SWEEP = `${STATUS_OF}local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local before, order = {}, {}
for _, member in ipairs(expired) do
  local nl = string.find(member, '\\n', 1, true)
  local agent, socket = string.sub(member, 1, nl - 1), string.sub(member, nl + 1)
  local key = ARGV[1] .. agent
  if before[agent] == nil then before[agent] = status_of(key); order[#order + 1] = agent end
  redis.call('HDEL', key, socket)
  redis.call('ZREM', KEYS[1], member)
end
local out = {}
for _, agent in ipairs(order) do
  local after = status_of(ARGV[1] .. agent)
  if after ~= before[agent] then out[#out + 1] = agent; out[#out + 1] = before[agent]; out[#out + 1] = after end
end
return out`;
const SWEEP_BATCH = 1_000;

/** An agent's presence from its sockets' statuses: online if any is, away if all are, offline with none. */
const statusOf = (statuses: readonly string[]): AgentPresence => (statuses.length === 0 ? 'offline' : statuses.includes('online') ? 'online' : 'away');

/** Presence in the durable Redis: a sorted set of socket leases (score: expiry by Redis's clock) and a hash per agent. */
export function createRedisPresenceStore(redis: RedisHandle): PresenceStore {
  const { client } = redis;
  const change = (agentId: string, [before, after]: string[]): PresenceChange => ({ agentId, before: before as AgentPresence, after: after as AgentPresence });
  return {
    set: async (agentId, socketId, status, ttlMs) => change(agentId, (await client.eval(SET, 2, LEASES, AGENT_PREFIX + agentId, agentId, socketId, status, String(ttlMs))) as string[]),
    remove: async (agentId, socketId) => change(agentId, (await client.eval(REMOVE, 2, LEASES, AGENT_PREFIX + agentId, agentId, socketId)) as string[]),
    async sweep() {
      const flat = (await client.eval(SWEEP, 1, LEASES, AGENT_PREFIX, String(SWEEP_BATCH))) as string[];
      const changes: PresenceChange[] = [];
      for (let i = 0; i + 2 < flat.length; i += 3) changes.push(change(flat[i]!, [flat[i + 1]!, flat[i + 2]!]));
      return changes;
    },
    get: async (agentId) => statusOf(await client.hvals(AGENT_PREFIX + agentId)),
    async list() {
      const members = await client.zrange(LEASES, 0, -1);
      const agents = [...new Set(members.map((m) => m.slice(0, m.indexOf('\n'))))];
      // One round trip for every agent's hash (all in the presence slot), not one per agent.
      const pipeline = client.pipeline();
      for (const agentId of agents) pipeline.hvals(AGENT_PREFIX + agentId);
      const replies = agents.length === 0 ? [] : ((await pipeline.exec()) ?? []);
      const out: { agentId: string; status: AgentPresence }[] = [];
      agents.forEach((agentId, i) => {
        const [err, statuses] = replies[i] ?? [new Error('no reply'), []];
        if (err) throw err;
        const status = statusOf(statuses as string[]);
        if (status !== 'offline') out.push({ agentId, status });
      });
      return out;
    },
  };
}
