// The dispatch bench's gateway level (`node bench/dispatch.ts --level=gateway`): two real gateway
// nodes (`node src/main.ts`, OMNIGATE_DISPATCH=routing, the connectors to the three sample
// backends) on one Redis, 1,000 agents in the directory: the first `sockets` (100) online through
// real agent sockets spread over both nodes, the others set online in the dispatch store directly
// (the record a node writes on a presence change: 1,000 sockets took 30 s to over 90 s to come
// online here, see bench/README.md), conversations started over REST by a service key naming verified customers of
// the seed data (so routing fetches their business facts), and queued → offered read from each
// conversation's own stream (`conversation.queued`.at → `conversation.offered`.at) and from the
// `offer` frames' arrival at the agents' sockets. Facts cached (a long TTL, the cache filled by one
// conversation per customer first) and live (TTL 0: the nodes restarted with it) are separate phases.
// The drain queues conversations while the agents are away in the dispatch store, then sets them
// online there in one go: each node's sweeper pumps both groups within its interval (1 s), so the
// drain measures the nodes' pumps (claims, `offered` appends, offer frames), not 1,000 sockets
// (re)connecting, which took 30-46 s on the shared 2-core machine (bench/README.md says why).
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { connectorEnv, startBackends } from '../../scripts/lib/backends.ts';
import { startRedisPair } from '../../scripts/lib/redis.ts';
import { createRedisDispatchStore } from '../../src/adapters/redis/redis-dispatch-store.ts';
import { socketAuth } from './chat-auth.ts';
import { openChatSocket, type ChatSocket } from './chat-client.ts';
import { paced } from './chat-conversations.ts';
import { chatAuth, chatGatewayEnv } from './chat-gateway.ts';
import { BENCH_API_KEY, startGatewayNode, type Run, type ServerProcess } from './chat-stack.ts';
import { cpuWindow } from './cpu.ts';
import { groupCount, readStreams, sleep, until } from './dispatch-gateway-reads.ts';
import { percentiles, type Percentiles } from './load.ts';

export interface GatewayLevelOptions {
  readonly rootDir: string;
  readonly run: Run;
  readonly say: (line: string) => void;
  readonly ports: { readonly redis: number; readonly redisCache: number; readonly gateways: readonly [number, number]; readonly inspect: readonly [number, number]; readonly orders: number; readonly crm: number; readonly tickets: number };
  readonly agents: number;
  /** Agents with a real socket (the first ones, spread over both nodes); the others are set online in the dispatch store. */
  readonly sockets: number;
  /** Queued while no agent is online, then drained. */
  readonly conversations: number;
  /** Started at `rate`/s, facts cached. */
  readonly pacedConversations: number;
  readonly rate: number;
  readonly liveRate: number;
  readonly liveConversations: number;
  readonly maxConcurrent: number;
}

export interface GatewayPhase {
  readonly phase: string;
  readonly facts: 'cached' | 'live';
  readonly started: number;
  readonly startErrors: number;
  readonly firstStartError?: string;
  readonly offered: number;
  /** Conversations with more than one `offered` event (none is ever accepted, so one each). */
  readonly doubleOffers: number;
  readonly seconds: number;
  readonly startsPerSecond: number;
  /** Offers per second: paced, from the phase's first start to its last `offered` event; drain, from its first `offered` event to its last. */
  readonly offersPerSecond: number;
  /** Drain only: seconds from setting the agents online to the last `offered` event. */
  readonly drainSeconds?: number;
  readonly startMs: Percentiles;
  /** `conversation.queued`.at → `conversation.offered`.at (both stamped by the nodes, ms). */
  readonly queuedToOfferedMs: Percentiles;
  /** `conversation.queued`.at → the `offer` frame's arrival at the agent's socket. */
  readonly queuedToFrameMs: Percentiles;
  /** Offers that went to an agent with a socket (the frame latency's sample). */
  readonly frames: number;
  readonly cpuMsPerOffer: Record<string, number>;
  readonly machineBusyPct: number;
  readonly notOursPct: number;
  /** 1-minute load average at the phase's start and end. */
  readonly loadAvg: readonly [number, number];
}

const SITE = 'bench-site';
/** The example rules; two groups without overflow, so every conversation waits for an offer. */
const RULES = {
  version: 'bench-dispatch-gateway',
  defaultGroup: 'general',
  ageing: { msPerPoint: 1000 },
  groups: { general: {}, orders: {} },
  rules: [
    { name: 'vip', when: { fact: 'customer.tier', eq: 'vip' }, then: { priority: 50 } },
    { name: 'open order over 500 EUR', when: { fact: 'orders.openValueMaxEur', gt: 500 }, then: { group: 'orders', priority: 20 } },
    { name: 'open urgent ticket', when: { fact: 'tickets.openUrgentCount', gt: 0 }, then: { priority: 30 } },
  ],
};
const BOUND_MS = 120_000;

/** Runs the gateway phases; everything it starts is stopped by `run`. */
export async function runGatewayLevel(o: GatewayLevelOptions): Promise<GatewayPhase[]> {
  const dir = join(o.rootDir, '.data/bench-dispatch/gateway');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const logDir = join(o.rootDir, `.data/bench-logs/dispatch-gateway-${o.ports.gateways[0]}`);
  o.say('gateway level: starting redis and the sample backends…');
  const redis = await startRedisPair({ port: o.ports.redis, cachePort: o.ports.redisCache, dir: join(dir, 'redis') });
  o.run.add(() => redis.stop());
  const backends = await startBackends({ rootDir: o.rootDir, ports: { orders: o.ports.orders, crm: o.ports.crm, tickets: o.ports.tickets }, logDir, env: { ORDERS_TOKEN_TTL_SECONDS: '86400' } });
  o.run.add(() => backends.stop());
  const admin = new Redis(redis.env.REDIS_URL);
  o.run.add(async () => void (await admin.quit()));
  // The gateway's own dispatch store (its default prefix), for the drain's away → online.
  const store = createRedisDispatchStore({ client: admin });
  const rulesFile = join(dir, 'routing-rules.json');
  writeFileSync(rulesFile, JSON.stringify(RULES, null, 1));
  const agentsFile = join(dir, 'agents.json');
  const agentIds = Array.from({ length: o.agents }, (_, i) => `bench-agent-${i}`);
  writeFileSync(agentsFile, JSON.stringify(agentIds.map((id) => ({ id, groups: ['general', 'orders'], skills: [], languages: ['en'], maxConcurrent: o.maxConcurrent }))));
  const customers = (JSON.parse(readFileSync(join(o.rootDir, '.data/seed/crm-customers.json'), 'utf8')) as { id: number }[]).map((c) => String(c.id)).slice(0, 1_000);

  let nodes: ServerProcess[] = [];
  const startNodes = async (factsTtlMs: number) => {
    const env = (name: string) => chatGatewayEnv(redis.env, {
      ...connectorEnv(backends.urls),
      OMNIGATE_CONNECTORS_DIR: join(o.rootDir, 'connectors'),
      OMNIGATE_PACKAGE_STORE_DIR: join(dir, name, 'store'),
      OMNIGATE_DISPATCH: 'routing',
      OMNIGATE_ROUTING_RULES_FILE: rulesFile,
      OMNIGATE_AGENTS_FILE: agentsFile,
      // Nobody accepts: an offer is the end of the measurement and must hold its agent's place for the run.
      OMNIGATE_DISPATCH_OFFER_TIMEOUT_MS: '3600000',
      OMNIGATE_DISPATCH_FACTS_CACHE_TTL_MS: String(factsTtlMs),
      // The periodic resync would write the bench's store-only agents back to offline (no presence), and the drain's away ones online.
      OMNIGATE_DISPATCH_AGENT_RESYNC_INTERVAL_MS: '0',
      OMNIGATE_CHAT_AGENT_ANSWER_MS: '3600000', OMNIGATE_CHAT_VISITOR_IDLE_MS: '3600000',
      OMNIGATE_REDIS_COMMAND_TIMEOUT_MS: '2000',
      OMNIGATE_RESILIENCE_ORDERS_JAVA_RATE_LIMIT_PER_SEC: '1000000',
    });
    nodes = await Promise.all(['a', 'b'].map((name, i) => startGatewayNode(o.run, { rootDir: o.rootDir, name: `dispatch-${name}`, port: o.ports.gateways[i]!, inspectPort: o.ports.inspect[i]!, logDir, env: env(name) })));
    // Listening is not enough: routing needs the connectors loaded.
    await Promise.all(nodes.map((n) => until(`${n.name} ready`, async () => (await fetch(`${n.httpUrl}/readyz`).then((r) => r.json(), () => ({})) as { status?: string }).status === 'ready')));
  };

  /** Offer frames by conversation: the agent and the arrival (epoch ms). */
  const frames = new Map<string, { agentId: string; at: number }[]>();
  let sockets: ChatSocket[] = [];
  const openAgents = async () => {
    const started = performance.now();
    const queue = agentIds.slice(0, o.sockets).map((id, i) => ({ id, node: nodes[i % 2]! }));
    await Promise.all(Array.from({ length: 32 }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const { id, node } = next;
        const socket = await openChatSocket(node.wsUrl, await socketAuth(await chatAuth(node, 'agent'), id));
        socket.onFrame = (frame, receivedAt) => {
          if (frame.type !== 'offer') return;
          const list = frames.get(String(frame.conversationId)) ?? [];
          list.push({ agentId: id, at: performance.timeOrigin + receivedAt });
          frames.set(String(frame.conversationId), list);
        };
        sockets.push(socket);
      }
    }));
    await until(`${o.sockets} agents online in the dispatch store`, async () => (await groupCount(nodes[0]!, 'general', 'online')) >= Math.min(o.sockets, o.agents), 240_000);
    o.say(`${Math.min(o.sockets, o.agents)} agent sockets open and online in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    // The rest: online in the dispatch store directly (see the header).
    await setAll('online', agentIds.slice(o.sockets));
    await until(`${o.agents} agents online in the dispatch store`, async () => (await groupCount(nodes[0]!, 'general', 'online')) >= o.agents);
  };
  /** Every agent's record in the dispatch store (the one a node writes on a presence change), with `status`. */
  const setAll = async (status: 'online' | 'away', ids = agentIds) => {
    const at = Date.now();
    await Promise.all(ids.map((agentId) => store.setAgent({ agentId, groups: ['general', 'orders'], skills: [], languages: ['en'], maxConcurrent: o.maxConcurrent, status }, at)));
  };
  const closeAgents = async () => {
    for (const s of sockets) s.close();
    await Promise.all(sockets.map((s) => s.closed));
    sockets = [];
  };

  const startOne = async (tag: string, i: number, customerId: string): Promise<{ id?: string; ms: number; error?: string }> => {
    const t0 = performance.now();
    const node = nodes[i % 2]!;
    try {
      const res = await fetch(`${node.httpUrl}/v1/conversations`, {
        method: 'POST', headers: { 'x-api-key': BENCH_API_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ visitor: { id: `bv-${tag}-${i}`, site: SITE, customerId }, subject: `bench ${tag} ${i}` }),
        signal: AbortSignal.timeout(30_000),
      });
      const body = (await res.json()) as { conversationId?: string };
      if (res.status !== 201 || !body.conversationId) return { ms: performance.now() - t0, error: `${res.status} ${JSON.stringify(body).slice(0, 200)}` };
      return { id: body.conversationId, ms: performance.now() - t0 };
    } catch (err) {
      return { ms: performance.now() - t0, error: String(err) };
    }
  };

  /**
   * Starts `count` conversations (customers in turn) at `rate`/s and waits until each is offered;
   * or, with rate 0 (drain), with every agent away in the dispatch store (sockets open), flat out
   * over 64 connections, waits until all are in the queues, then sets every agent online in the
   * store and waits until each is offered.
   */
  const phase = async (name: string, facts: 'cached' | 'live', tag: string, count: number, rate: number): Promise<GatewayPhase> => {
    o.say(`${name}…`);
    const load0 = loadavg()[0]!;
    if (rate === 0) {
      await setAll('away');
      await until('every agent away in the dispatch store', async () => (await groupCount(nodes[0]!, 'general', 'online')) === 0);
    }
    let window = cpuWindow({ 'node-a': nodes[0]!.pid, 'node-b': nodes[1]!.pid }, cpus().length);
    const began = Date.now();
    const results: Promise<{ id?: string; ms: number; error?: string }>[] = [];
    const customerOf = (i: number) => customers[(i * 7_919) % customers.length]!;
    if (rate > 0) {
      await paced(count, rate, (i) => void results.push(startOne(tag, i, customerOf(i))));
    } else {
      let next = 0;
      await Promise.all(Array.from({ length: 64 }, async () => {
        for (let i = next++; i < count; i = next++) {
          const one = startOne(tag, i, customerOf(i));
          results.push(one);
          await one;
        }
      }));
    }
    const done = await Promise.all(results);
    const startedAll = Date.now();
    const ids = done.flatMap((r) => (r.id ? [r.id] : []));
    let agentsAt = 0;
    if (rate === 0) {
      const queued = async () => (await groupCount(nodes[0]!, 'general', 'queued')) + (await groupCount(nodes[0]!, 'orders', 'queued'));
      await until(`${name}: all ${ids.length} in the queues`, async () => (await queued()) >= ids.length, BOUND_MS);
      o.say(`${ids.length} queued (${Math.round(ids.length / ((startedAll - began) / 1000))} starts/s); every agent online again in the dispatch store…`);
      window = cpuWindow({ 'node-a': nodes[0]!.pid, 'node-b': nodes[1]!.pid }, cpus().length);
      agentsAt = Date.now();
      await setAll('online');
    }
    // Nothing is accepted or expires: the store's open offers count every conversation of the run.
    offersDue += ids.length;
    const openOffers = async () => (await groupCount(nodes[0]!, 'general', 'openOffers')) + (await groupCount(nodes[0]!, 'orders', 'openOffers'));
    await until(`${name}: every started conversation offered`, async () => (await openOffers()) >= offersDue, BOUND_MS);
    const cpu = window.end();
    const load1 = loadavg()[0]!;
    const streams = await readStreams(nodes, ids);
    // The `offered` append follows the claim: a stream read at once may miss the last few.
    for (let retry = 0; retry < 20; retry++) {
      const late = ids.filter((id) => !streams.get(id)?.some((e) => e.type === 'conversation.offered'));
      if (late.length === 0) break;
      await sleep(250);
      for (const [id, events] of await readStreams(nodes, late)) streams.set(id, events);
    }
    const latency: number[] = [];
    const toFrame: number[] = [];
    let doubleOffers = 0;
    let lastOffered = 0;
    let firstOffered = Infinity;
    for (const id of ids) {
      const events = streams.get(id) ?? [];
      const queued = events.find((e) => e.type === 'conversation.queued');
      const offered = events.filter((e) => e.type === 'conversation.offered');
      if (offered.length > 1) doubleOffers++;
      if (!queued || offered.length === 0) continue;
      const q = Date.parse(queued.at);
      const at = Date.parse(offered[0]!.at);
      latency.push(at - q);
      lastOffered = Math.max(lastOffered, at);
      firstOffered = Math.min(firstOffered, at);
      const frame = frames.get(id)?.[0];
      if (frame) toFrame.push(frame.at - q);
    }
    const errors = done.filter((r) => r.error);
    const seconds = rate === 0 ? (lastOffered - firstOffered) / 1000 : (Math.max(lastOffered, startedAll) - began) / 1000;
    return {
      phase: name, facts, started: ids.length, startErrors: errors.length, ...(errors[0]?.error ? { firstStartError: errors[0].error } : {}),
      offered: latency.length, doubleOffers, seconds, startsPerSecond: ids.length / ((startedAll - began) / 1000), offersPerSecond: latency.length / seconds,
      ...(rate === 0 ? { drainSeconds: (lastOffered - agentsAt) / 1000 } : {}),
      startMs: percentiles(done.map((r) => r.ms)), queuedToOfferedMs: percentiles(latency), queuedToFrameMs: percentiles(toFrame), frames: toFrame.length,
      cpuMsPerOffer: Object.fromEntries(Object.entries(cpu.ms).map(([n, ms]) => [n, Math.round((ms * 1000) / Math.max(1, latency.length)) / 1000])),
      machineBusyPct: cpu.machineBusyPct, notOursPct: cpu.notOursPct, loadAvg: [load0, load1],
    };
  };

  let offersDue = 0;
  const phases: GatewayPhase[] = [];
  o.say('gateway level: two nodes, facts cache TTL 10 min…');
  await startNodes(600_000);
  await openAgents();
  o.say(`filling the facts cache: one conversation per customer (${customers.length}, not measured)…`);
  await phase('warm-up', 'cached', 'warm', customers.length, 200);
  phases.push(await phase(`gateway paced ${o.rate}/s, facts cached`, 'cached', 'paced', o.pacedConversations, o.rate));
  phases.push(await phase(`gateway drain (${o.conversations.toLocaleString('en')} queued), facts cached`, 'cached', 'drain', o.conversations, 0));
  o.say('restarting both nodes with the facts cache off (TTL 0)…');
  await closeAgents();
  await Promise.all(nodes.map((n) => n.stop()));
  await startNodes(0);
  await openAgents();
  phases.push(await phase(`gateway paced ${o.liveRate}/s, facts live`, 'live', 'live', o.liveConversations, o.liveRate));
  // Over capacity: no conversation was accepted, so every offer still holds its place.
  const perAgent = new Map<string, number>();
  for (const list of frames.values()) for (const f of list) perAgent.set(f.agentId, (perAgent.get(f.agentId) ?? 0) + 1);
  const over = [...perAgent.values()].filter((n) => n > o.maxConcurrent).length;
  const overInStore = (await store.agents()).filter((a) => a.load > a.maxConcurrent).length;
  o.say(`agents over their maximum: ${over} by their offer frames, ${overInStore} by the dispatch store's loads`);
  await closeAgents();
  return phases;
}
