// One simulated gateway node of the dispatch bench (a process of its own, driven over IPC): the
// store-level part of what the routing dispatcher does per conversation — business data (from its
// facts cache, or live through the gateway's unified query API), the rules, enqueue at its rank,
// and one pump per group claiming while anything can be offered — or, for the baseline, the same
// Redis round trips without any routing logic (ZADD to enqueue; ZPOPMIN the queue and the least
// loaded agent, SADD the conversation to its load and ZADD it back, per assignment).
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { createRedisDispatchStore } from '../../src/adapters/redis/redis-dispatch-store.ts';
import { evaluateRules, rankOf } from '../../src/modules/dispatch/routing-rules.ts';
import type { Facts, FactValue, RoutingRules } from '../../src/modules/dispatch/routing.types.ts';
import type { DispatchStore } from '../../src/ports/dispatch-store.ts';
import { paced } from './chat-conversations.ts';

export interface Arrival {
  readonly id: string;
  readonly customerId: string;
  /** The widget's language, when it asks for one. */
  readonly language?: string;
}
export type DispatchMode = 'routing' | 'baseline';
export const BASELINE_GROUPS = ['general', 'orders'] as const;
/** Baseline keys: one queue and one availability per group, loads per agent. */
export const baselineKeys = (prefix: string) => ({ queue: (g: string) => `${prefix}:bq:${g}`, available: (g: string) => `${prefix}:bav:${g}`, load: (a: string) => `${prefix}:bload:${a}` });

const now = () => performance.timeOrigin + performance.now();
const OPEN_ORDER = new Set(['pending', 'paid', 'shipped']);

interface ContextPart<T> { readonly status: string; readonly data?: T }
interface CustomerContext {
  readonly parts: {
    readonly customer: ContextPart<{ tier: string; language: string }>;
    readonly orders: ContextPart<{ status: string; total: { amount: string; currency: string } }[]>;
    readonly openTickets: ContextPart<{ priority: string; isOpen: boolean }[]>;
  };
}

/** The facts the demo rules read, from a customer context; a part not answered is unknown (null). */
export function factsOf(context: CustomerContext | undefined): Facts {
  const known = <T>(part: ContextPart<T> | undefined) => (part && (part.status === 'ok' || part.status === 'stale') ? part.data : undefined);
  const customer = known(context?.parts.customer);
  const orders = known(context?.parts.orders)?.filter((o) => OPEN_ORDER.has(o.status));
  const tickets = known(context?.parts.openTickets);
  const eur = orders?.filter((o) => o.total.currency === 'EUR').map((o) => Number(o.total.amount));
  const facts: Record<string, FactValue> = {
    'customer.known': customer !== undefined,
    'customer.tier': customer?.tier ?? null,
    'orders.openCount': orders?.length ?? null,
    'orders.openValueMaxEur': eur ? (eur.length > 0 ? Math.max(...eur) : 0) : null,
    'tickets.openUrgentCount': tickets ? tickets.filter((t) => t.isOpen && t.priority === 'urgent').length : null,
  };
  return facts;
}

interface Settings {
  readonly redisUrl: string;
  readonly rulesFile: string;
  readonly gatewayUrl?: string;
  readonly apiKey?: string;
  readonly scanDepth: number;
}

/** The node's handlers (see bench/dispatch.ts). */
export function dispatchNode() {
  let settings: Settings;
  let redis: Redis;
  let rules: RoutingRules;
  const cache = new Map<string, Facts>();
  let phase: { prefix: string; mode: DispatchMode; live: boolean; store: DispatchStore; maxConcurrent: number } | undefined;
  const pumping = new Set<string>();
  const again = new Set<string>();
  let running = 0;
  let record = { arrived: {} as Record<string, number>, enqueued: {} as Record<string, number>, offered: {} as Record<string, number>, claimMs: [] as number[], factsMs: [] as number[], errors: 0, firstError: '' };

  async function fetchFacts(customerId: string): Promise<Facts> {
    const started = now();
    try {
      const res = await fetch(`${settings.gatewayUrl}/v1/customers/${customerId}/context`, { headers: { 'x-api-key': settings.apiKey ?? '' } });
      return factsOf(res.ok ? ((await res.json()) as CustomerContext) : undefined);
    } finally {
      record.factsMs.push(now() - started);
    }
  }

  async function claimOnce(group: string): Promise<boolean> {
    const p = phase!;
    const started = now();
    if (p.mode === 'routing') {
      const outcome = await p.store.claim(group, { nowMs: Date.now(), offerTtlMs: 3_600_000, autoAssign: false, scanDepth: settings.scanDepth });
      const at = now();
      record.claimMs.push(at - started);
      if (outcome) record.offered[outcome.offer.conversationId] = at;
      return outcome !== undefined;
    }
    const k = baselineKeys(p.prefix);
    const [[, conv = []], [, agent = []]] = (await redis.multi().zpopmin(k.queue(group)).zpopmin(k.available(group)).exec()) as [[unknown, string[]], [unknown, string[]]];
    const [conversationId, rank] = conv;
    const [agentId, load] = agent;
    if (conversationId !== undefined && agentId !== undefined) {
      const next = Number(load) + 1;
      const write = redis.pipeline().sadd(k.load(agentId), conversationId);
      if (next < p.maxConcurrent) write.zadd(k.available(group), next, agentId);
      await write.exec();
      const at = now();
      record.claimMs.push(at - started);
      record.offered[conversationId] = at;
      return true;
    }
    // Nothing to match: what was popped goes back.
    const back = redis.pipeline();
    if (conversationId !== undefined) back.zadd(k.queue(group), rank ?? '0', conversationId);
    if (agentId !== undefined) back.zadd(k.available(group), load ?? '0', agentId);
    await back.exec();
    record.claimMs.push(now() - started);
    return false;
  }

  /** One pump per group at a time on this node; a pump asked for meanwhile runs once more after it (as the dispatch service does). */
  async function pump(group: string): Promise<void> {
    if (pumping.has(group)) return void again.add(group);
    pumping.add(group);
    running++;
    try {
      do {
        again.delete(group);
        while (await claimOnce(group));
      } while (again.has(group));
    } finally {
      pumping.delete(group);
      running--;
    }
  }

  async function arrive(a: Arrival, pumpAfter: boolean): Promise<void> {
    const p = phase!;
    record.arrived[a.id] = now();
    try {
      let group: string;
      if (p.mode === 'routing') {
        const facts = p.live ? await fetchFacts(a.customerId) : (cache.get(a.customerId) ?? factsOf(undefined));
        const enqueuedAtMs = Date.now();
        const result = evaluateRules(rules, { ...facts, ...(a.language ? { 'widget.language': a.language } : {}) });
        group = result.group;
        await p.store.enqueue({
          conversationId: a.id, group, priority: result.priority, enqueuedAtMs, skills: result.skills, rank: rankOf(result.priority, enqueuedAtMs, rules),
          ...(a.language ? { language: a.language } : {}),
        });
      } else {
        group = BASELINE_GROUPS[Number(a.id.slice(2)) % 5 === 0 ? 1 : 0];
        await redis.zadd(baselineKeys(p.prefix).queue(group), Date.now(), a.id);
      }
      record.enqueued[a.id] = now();
      if (pumpAfter) await pump(group);
    } catch (err) {
      record.errors++;
      record.firstError ||= String(err);
    }
  }

  return {
    async open(s: Settings) {
      settings = s;
      redis = new Redis(s.redisUrl, { maxRetriesPerRequest: 1 });
      rules = JSON.parse(readFileSync(s.rulesFile, 'utf8')) as RoutingRules;
      return { pid: process.pid };
    },
    /** Fills the facts cache: one live fetch per customer. */
    async warm({ customerIds }: { customerIds: string[] }) {
      const started = now();
      const queue = [...customerIds];
      await Promise.all(Array.from({ length: 16 }, async () => {
        for (let id = queue.pop(); id !== undefined; id = queue.pop()) cache.set(id, await fetchFacts(id));
      }));
      record.factsMs = [];
      return { ms: now() - started, customers: cache.size };
    },
    async begin({ prefix, mode, live, maxConcurrent }: { prefix: string; mode: DispatchMode; live: boolean; maxConcurrent: number }) {
      phase = { prefix, mode, live, maxConcurrent, store: createRedisDispatchStore({ client: redis, prefix }) };
      record = { arrived: {}, enqueued: {}, offered: {}, claimMs: [], factsMs: [], errors: 0, firstError: '' };
      return {};
    },
    /** Conversations arrive at `rate` per second (open loop); each is routed, enqueued and, with `pump`, pumped at once. Resolves when all are enqueued. */
    async arrive({ arrivals, rate, pump: pumpAfter }: { arrivals: Arrival[]; rate: number; pump: boolean }) {
      const pending: Promise<void>[] = [];
      await paced(arrivals.length, rate, (i) => void pending.push(arrive(arrivals[i]!, pumpAfter)));
      await Promise.all(pending);
      return {};
    },
    /** Pumps every group until nothing more can be offered. */
    async drain({ groups }: { groups: string[] }) {
      const started = now();
      await Promise.all(groups.map((g) => pump(g)));
      while (running > 0) await new Promise((r) => setTimeout(r, 5));
      return { ms: now() - started };
    },
    async collect() {
      return record;
    },
    async close() {
      await redis.quit();
      return {};
    },
  };
}
