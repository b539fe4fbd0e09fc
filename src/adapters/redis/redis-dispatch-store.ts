import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import { AppError, type ErrorCode } from '../../kernel/errors.ts';
import type { AgentLoad, ClaimOutcome, DispatchAgent, DispatchStore, ExpiredOffer, GroupStats, Offer, RankedEntry } from '../../ports/dispatch-store.ts';

/** Where dispatch keys live by default: one hash tag `{od}`, so every script runs on one slot. */
export const DEFAULT_DISPATCH_PREFIX = 'omnigate:dispatch:{od}';
/** How long a customer's last agent is remembered for sticky routing. */
export const DEFAULT_STICKY_TTL_MS = 30 * 24 * 3_600_000;
/** How many agents of a group's availability (least busy first) a claim looks at per entry. */
export const DEFAULT_CLAIM_AGENT_LIMIT = 1_000;

export interface RedisDispatchStoreDeps {
  /** A standalone Redis or a Redis Cluster: every key carries the prefix's hash tag. */
  readonly client: Redis | Cluster;
  /** Key prefix with its hash tag (default {@link DEFAULT_DISPATCH_PREFIX}); tests give each run its own, `…{od}:<run>`. */
  readonly prefix?: string;
  readonly stickyTtlMs?: number;
  readonly claimAgentLimit?: number;
  /** Offer ids (default random UUIDs). */
  readonly newId?: () => string;
}

type Flat = string[];
type Reply = unknown;

/**
 * The DispatchStore on Redis, one Lua script per step (dispatch-*.lua, each behind the shared
 * dispatch-lib.lua). Keys under the prefix `P` = `omnigate:dispatch:{od}`: `P:q:<group>` queue
 * (sorted set by rank) and `P:qa:<group>` (the same by enqueued time), `P:e` entries (hash of
 * JSON), `P:x:<conversation>` excluded agents, `P:agents` profiles (with `P:max` and `P:caps`,
 * languages and skills as one string, for the claim), `P:idle`, `P:miss`,
 * `P:load:<agent>` (set of conversations held), `P:av:<group>` online agents with room scored
 * load × 1e13 + idle-since ms, `P:gagents:<group>`, offers `P:o:<id>` with `P:co` (conversation →
 * offer), `P:oexp` (open, by expiry), `P:unc` (accepted, unconfirmed), `P:gopen:<group>`, counters
 * `P:c:<group>`, `P:done:<group>` (confirmed assignments of the last minute), `P:sticky:<key>`.
 * Stats list every group that ever had a queue, agents or a counter; `agents.load` sums the loads
 * of a group's agents in any status, `agents.capacity` the maxima of its online ones.
 */
export function createRedisDispatchStore(deps: RedisDispatchStoreDeps): DispatchStore {
  const { client } = deps;
  const prefix = deps.prefix ?? DEFAULT_DISPATCH_PREFIX;
  const stickyTtlMs = deps.stickyTtlMs ?? DEFAULT_STICKY_TTL_MS;
  const agentLimit = deps.claimAgentLimit ?? DEFAULT_CLAIM_AGENT_LIMIT;
  const newId = deps.newId ?? randomUUID;
  const scripts = {
    queue: loadScript('dispatch-queue.lua'),
    agents: loadScript('dispatch-agents.lua'),
    claim: loadScript('dispatch-claim.lua'),
    offers: loadScript('dispatch-offers.lua'),
    stats: loadScript('dispatch-stats.lua'),
  };

  async function run(name: keyof typeof scripts, ...args: (string | number)[]): Promise<Reply> {
    const { source, sha } = scripts[name];
    try {
      return await client.evalsha(sha, 1, prefix, ...args);
    } catch (err) {
      // Each node of a Cluster (and a restarted Redis) learns the script on first use.
      if (!/NOSCRIPT/.test((err as Error).message)) throw err;
      return await client.eval(source, 1, prefix, ...args);
    }
  }
  /** An offer step's reply: the offer, or the refusal the script returned as `['!', code, detail]`. */
  function offerOrRefusal(reply: Reply): Offer {
    const flat = reply as Flat;
    if (flat[0] === '!') throw new AppError(flat[1] as ErrorCode, flat[2] ?? 'refused');
    return toOffer(flat);
  }

  return {
    async enqueue(entry) {
      const { excluded = [], ...rest } = entry;
      return (await run('queue', 'enqueue', entry.conversationId, entry.group, String(entry.rank), String(entry.enqueuedAtMs), JSON.stringify(rest), ...excluded)) === 1;
    },
    async dequeue(conversationId) {
      const reply = (await run('queue', 'dequeue', conversationId)) as [string, Flat] | null;
      return reply ? toEntry(reply) : undefined;
    },
    async entry(conversationId) {
      const [reply] = (await run('queue', 'entries', conversationId)) as ([string, Flat] | null)[];
      return reply ? toEntry(reply) : undefined;
    },

    async setAgent(agent, nowMs) {
      const profile: DispatchAgent = { agentId: agent.agentId, groups: agent.groups, skills: agent.skills, languages: agent.languages, maxConcurrent: agent.maxConcurrent, status: agent.status };
      await run('agents', 'set', agent.agentId, JSON.stringify(profile), nowMs);
    },
    async removeAgent(agentId) {
      await run('agents', 'remove', agentId);
    },
    async agents(group) {
      const rows = (await run('agents', 'list', group ?? '')) as [string, number, string, string][];
      return rows
        .map(([raw, load, idle, misses]): AgentLoad => ({ ...toAgent(raw), load: Number(load), idleSinceMs: Number(idle), misses: Number(misses) }))
        .sort((a, b) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
    },

    async claim(group, options) {
      const reply = (await run('claim', group, options.nowMs, options.offerTtlMs, options.autoAssign ? 1 : 0, options.scanDepth, newId(), agentLimit)) as
        | [Flat, string, Flat, ClaimOutcome['reason'], [string, number, number, string][], number]
        | null;
      if (!reply) return undefined;
      const [offer, raw, excluded, reason, candidates, passedOver] = reply;
      return {
        offer: toOffer(offer),
        entry: toEntry([raw, excluded]),
        reason,
        candidates: candidates.map(([agentId, load, maxConcurrent, idle]) => ({ agentId, load: Number(load), maxConcurrent: Number(maxConcurrent), idleSinceMs: Number(idle) })),
        passedOver: Number(passedOver),
      };
    },
    async accept(offerId, agentId, nowMs) {
      return offerOrRefusal(await run('offers', 'accept', offerId, agentId, nowMs));
    },
    async take(conversationId, agentId, options) {
      return offerOrRefusal(await run('offers', 'take', conversationId, agentId, options.nowMs, options.force ? 1 : 0, options.group ?? '', newId()));
    },
    async decline(offerId, agentId, nowMs) {
      return offerOrRefusal(await run('offers', 'decline', offerId, agentId, nowMs));
    },
    async confirm(offerId) {
      await run('offers', 'confirm', offerId);
    },
    async unconfirmed(nowMs, olderThanMs, limit) {
      if (limit <= 0) return [];
      return ((await run('offers', 'unconfirmed', nowMs - olderThanMs, limit)) as Flat[]).map(toOffer);
    },
    async expire(nowMs, limit) {
      if (limit <= 0) return [];
      const rows = (await run('offers', 'expire', nowMs, limit)) as [Flat, number][];
      return rows.map(([offer, misses]): ExpiredOffer => ({ offer: toOffer(offer), misses: Number(misses) }));
    },
    async resetMisses(agentId) {
      await run('agents', 'reset', agentId);
    },
    async release(conversationId, agentId) {
      return (await run('agents', 'release', conversationId, agentId)) === 1;
    },

    async positions(conversationIds) {
      const found = new Map<string, { group: string; position: number }>();
      if (conversationIds.length === 0) return found;
      const flat = (await run('queue', 'positions', ...conversationIds)) as (string | number)[];
      for (let i = 0; i + 2 < flat.length; i += 3) found.set(String(flat[i]), { group: String(flat[i + 1]), position: Number(flat[i + 2]) });
      return found;
    },
    async queue(group, limit) {
      return ((await run('queue', 'queue', group, Math.max(0, Math.floor(limit)))) as [string, Flat][]).map(toEntry);
    },
    async stats(nowMs) {
      const rows = (await run('stats', 'stats', nowMs)) as [string, number, string | null, number, number[], Flat, number][];
      return rows.map(toStats).sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
    },
    async count(group, counter, by = 1) {
      await run('stats', 'count', group, counter, by);
    },
    async rememberAgent(customerKey, agentId) {
      await run('stats', 'remember', customerKey, agentId, stickyTtlMs);
    },
    async lastAgent(customerKey) {
      return ((await run('stats', 'last', customerKey)) as string | null) ?? undefined;
    },
  };
}

/** One operation's script: the shared functions, then its own body. */
function loadScript(file: string): { source: string; sha: string } {
  const read = (name: string) => readFileSync(new URL(`./${name}`, import.meta.url), 'utf8');
  const source = `${read('dispatch-lib.lua')}\n${read(file)}`;
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

function fields(flat: Flat): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) map.set(flat[i] as string, flat[i + 1] as string);
  return map;
}

function toOffer(flat: Flat): Offer {
  const f = fields(flat);
  const acceptedAt = f.get('t');
  return {
    offerId: f.get('id') ?? '',
    conversationId: f.get('c') ?? '',
    agentId: f.get('a') ?? '',
    group: f.get('g') ?? '',
    madeAtMs: Number(f.get('m')),
    expiresAtMs: Number(f.get('x')),
    state: f.get('s') === 'accepted' ? 'accepted' : 'open',
    ...(acceptedAt === undefined ? {} : { acceptedAtMs: Number(acceptedAt) }),
  };
}

function toEntry([raw, excluded]: [string, Flat]): RankedEntry {
  const entry = JSON.parse(raw) as RankedEntry;
  return excluded.length > 0 ? { ...entry, excluded: [...excluded].sort() } : entry;
}

function toAgent(raw: string): DispatchAgent {
  return JSON.parse(raw) as DispatchAgent;
}

function toStats([group, queued, oldest, openOffers, agents, counters, lastMinute]: [string, number, string | null, number, number[], Flat, number]): GroupStats {
  const c = fields(counters);
  const counter = (name: string) => Number(c.get(name) ?? 0);
  const [online = 0, away = 0, offline = 0, load = 0, capacity = 0] = agents.map(Number);
  return {
    group,
    queued: Number(queued),
    ...(oldest === null ? {} : { oldestEnqueuedAtMs: Number(oldest) }),
    openOffers: Number(openOffers),
    agents: { online, away, offline, load, capacity },
    counters: { offered: counter('offered'), accepted: counter('accepted'), declined: counter('declined'), expired: counter('expired'), assigned: counter('assigned'), overflowed: counter('overflowed') },
    assignedLastMinute: Number(lastMinute),
  };
}
