// Dispatch throughput and assignment latency (queued → offered) with 1,000 agents and 10,000
// conversations on two nodes (processes) sharing one Redis, against a baseline of the same Redis
// round trips without routing logic, in the same run. Store level: each node does what the
// routing dispatcher does with the DispatchStore (business data, rules, enqueue, pump = claim
// loop). `--level=gateway` runs the same baseline, then two real gateway nodes routing
// conversations started over REST to 1,000 agent sockets (bench/lib/dispatch-gateway.ts).
// Usage: node bench/dispatch.ts [--level=store|gateway] [--agents=1000] [--conversations=10000] [--rate=500] [--live-rate=100] [--live-conversations=2000] [--scan-depth=50] [--no-live]
//   [--gateway-agent-sockets=100] [--gateway-rate=50] [--gateway-conversations=2000] [--gateway-live-rate=25] [--gateway-live-conversations=1000]
//   (store ~2 min, gateway ~5 min; every process on 127.0.0.1, all stopped at the end)
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedis } from '../scripts/lib/redis.ts';
import { createRedisDispatchStore } from '../src/adapters/redis/redis-dispatch-store.ts';
import { args } from './lib/args.ts';
import { createRun } from './lib/chat-stack.ts';
import { cpuWindow } from './lib/cpu.ts';
import { runGatewayLevel, type GatewayPhase } from './lib/dispatch-gateway.ts';
import { BASELINE_GROUPS, baselineKeys, dispatchNode, type Arrival, type DispatchMode } from './lib/dispatch-node.ts';
import { isGenerator, serveGenerator, startGenerators } from './lib/generators.ts';
import { percentiles, type Percentiles } from './lib/load.ts';
import { BENCH_PORTS, startStack, type Stack } from './lib/stack.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const o = Number(process.env.BENCH_DISPATCH_PORT_OFFSET ?? 0);
/** Clear of the tests at any offset of 1000, the demo, the chat benches (254xx) and gateway-overhead (27xxx); `BENCH_DISPATCH_PORT_OFFSET=N` moves them. */
const PORTS = {
  redis: 25579 + o, stack: { redis: 25574 + o, redisCache: 25575 + o, gateway: 25570 + o, orders: 25571 + o, crm: 25572 + o, tickets: 25573 + o },
  /** `--level=gateway`: the nodes and their inspectors (the stack's Redis and backend ports serve it; no stack runs then). */
  gateways: [25576 + o, 25577 + o], inspect: [25568 + o, 25569 + o],
} as const;
const GATEWAY_LEVEL = args.str('level', 'store') === 'gateway';
const AGENTS = args.int('agents', 1_000);
const CONVERSATIONS = args.int('conversations', 10_000);
const RATE = args.int('rate', 500);
const SCAN_DEPTH = args.int('scan-depth', 50);
/** Live business data costs the gateway three backend calls per conversation: a rate it sustains, over fewer conversations. */
const LIVE_RATE = args.int('live-rate', 100);
const LIVE_CONVERSATIONS = args.int('live-conversations', 2_000);
/** 20 places each: twice the conversations, so that every one can be offered (German speakers included). */
const MAX_CONCURRENT = 20;
const ROUTING_GROUPS = ['general', 'orders'];
/** Gateway level: nothing is accepted, so every offer of the run (warm-up, paced, drain, live) keeps its place: 30 each. */
const GATEWAY_MAX_CONCURRENT = 30;

interface Counted {
  readonly phase: string;
  readonly mode: DispatchMode;
  readonly offered: number;
  readonly left: number;
  readonly doubleOffers: number;
  readonly overCapacity: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly latencyMs: Percentiles;
  readonly enqueuedToOfferedMs: Percentiles;
  readonly claimMs: Percentiles;
  /** Claim calls made (each pump ends with one that finds nothing). */
  readonly claims: number;
  readonly factsMs: Percentiles;
  readonly errors: number;
  readonly firstError?: string;
  readonly cpuMsPerOffer: Record<string, number>;
  readonly machineBusyPct: number;
  readonly notOursPct: number;
  /** Redis's own time executing the phase's commands (and scripts), µs in all. */
  readonly commandUs?: number;
  readonly scriptUs?: number;
}
type Record_ = { arrived: Record<string, number>; enqueued: Record<string, number>; offered: Record<string, number>; claimMs: number[]; factsMs: number[]; errors: number; firstError: string };

async function main(): Promise<void> {
  const run = createRun((line) => console.error(line));
  const say = (line: string) => console.error(`[dispatch] ${line}`);
  try {
    const redis = await startRedis({ port: PORTS.redis, dir: join(root, '.data/bench-dispatch/redis'), role: 'durable', maxmemory: '2gb' });
    run.add(() => redis.stop());
    const admin = new Redis(redis.url);
    run.add(async () => void (await admin.quit()));
    let stack: Stack | undefined;
    if (!args.bool('no-live') && !GATEWAY_LEVEL) {
      stack = await startStack(root, say, (stop) => run.add(stop), { ...BENCH_PORTS, ...PORTS.stack });
    }
    const nodes = await startGenerators(fileURLToPath(import.meta.url), 2);
    for (const n of nodes) run.add(() => n.stop());
    await Promise.all(nodes.map((n) => n.call('open', { redisUrl: redis.url, rulesFile: join(root, 'config/routing-rules.demo.json'), gatewayUrl: stack?.gatewayUrl, apiKey: stack?.apiKey, scanDepth: SCAN_DEPTH })));
    const arrivals: Arrival[] = Array.from({ length: CONVERSATIONS }, (_, i) => ({ id: `c-${i}`, customerId: String(1 + ((i * 7_919) % 1_000)), ...(i % 5 === 4 ? { language: 'de' } : {}) }));
    if (stack) {
      say('filling each node\'s facts cache: one live context per customer…');
      const customerIds = [...new Set(arrivals.map((a) => a.customerId))];
      await Promise.all(nodes.map((n) => n.call('warm', { customerIds })));
    }
    const results: Counted[] = [];
    const phase = async (name: string, mode: DispatchMode, how: { live: boolean; paced: boolean }) => {
      say(`${name}…`);
      const prefix = `omnigate:dispatch:{od}:bench-${randomUUID()}`;
      await seedAgents(admin, prefix, mode);
      await Promise.all(nodes.map((n) => n.call('begin', { prefix, mode, live: how.live, maxConcurrent: MAX_CONCURRENT })));
      const some = how.live ? arrivals.slice(0, LIVE_CONVERSATIONS) : arrivals;
      const halves = [some.filter((_, i) => i % 2 === 0), some.filter((_, i) => i % 2 === 1)];
      const rate = how.live ? LIVE_RATE : RATE;
      const groups = mode === 'routing' ? ROUTING_GROUPS : [...BASELINE_GROUPS];
      let window;
      const resetCommandStats = () => admin.config('RESETSTAT');
      const started = performance.now();
      if (how.paced) {
        await resetCommandStats();
        window = cpuWindow(Object.fromEntries(nodes.map((n) => [`node-${n.index}`, n.pid])), cpus().length);
        await Promise.all(nodes.map((n, i) => n.call('arrive', { arrivals: halves[i], rate: rate / 2, pump: true })));
        await Promise.all(nodes.map((n) => n.call('drain', { groups })));
      } else {
        // Throughput: everything queued first (not timed), then both nodes pump flat out.
        await Promise.all(nodes.map((n, i) => n.call('arrive', { arrivals: halves[i], rate: 1_000_000, pump: false })));
        await resetCommandStats();
        window = cpuWindow(Object.fromEntries(nodes.map((n) => [`node-${n.index}`, n.pid])), cpus().length);
        await Promise.all(nodes.map((n) => n.call('drain', { groups })));
      }
      const commandUs = commandTime(await admin.info('commandstats'));
      const seconds = (performance.now() - started) / 1000;
      const cpu = window.end();
      const records = await Promise.all(nodes.map((n) => n.call<Record_>('collect')));
      results.push({ ...(await count(name, mode, how.paced ? seconds : cpu.seconds, records, cpu, admin, prefix)), ...commandUs });
      await dropKeys(admin, prefix);
    };
    const drain = `drain (${CONVERSATIONS.toLocaleString('en')} queued)`;
    if (!GATEWAY_LEVEL) {
      await phase('paced, facts cached', 'routing', { live: false, paced: true });
      if (stack) await phase('paced, facts live', 'routing', { live: true, paced: true });
    }
    await phase('paced', 'baseline', { live: false, paced: true });
    if (!GATEWAY_LEVEL) await phase(drain, 'routing', { live: false, paced: false });
    await phase(drain, 'baseline', { live: false, paced: false });
    if (!GATEWAY_LEVEL) return report(results);
    const gateway = await runGatewayLevel({
      rootDir: root, run, say, agents: AGENTS, sockets: args.int('gateway-agent-sockets', 100), conversations: CONVERSATIONS, maxConcurrent: GATEWAY_MAX_CONCURRENT,
      rate: args.int('gateway-rate', 50), pacedConversations: args.int('gateway-conversations', 2_000),
      liveRate: args.int('gateway-live-rate', 25), liveConversations: args.int('gateway-live-conversations', 1_000),
      ports: { redis: PORTS.stack.redis, redisCache: PORTS.stack.redisCache, gateways: PORTS.gateways, inspect: PORTS.inspect, orders: PORTS.stack.orders, crm: PORTS.stack.crm, tickets: PORTS.stack.tickets },
    });
    report(results, gateway);
  } finally {
    await run.stopAll();
  }
}

/** 1,000 agents online, 20 places each; for routing in `general`, two in five also in `orders`, three in ten speaking German. */
async function seedAgents(admin: Redis, prefix: string, mode: DispatchMode): Promise<void> {
  if (mode === 'baseline') {
    const k = baselineKeys(prefix);
    const write = admin.pipeline();
    for (let i = 0; i < AGENTS; i++) write.zadd(k.available(BASELINE_GROUPS[i % 5 === 0 ? 1 : 0]), 0, `a-${i}`);
    await write.exec();
    return;
  }
  const store = createRedisDispatchStore({ client: admin, prefix });
  await Promise.all(Array.from({ length: AGENTS }, (_, i) => store.setAgent({
    agentId: `a-${i}`, groups: i % 5 < 2 ? ['general', 'orders'] : ['general'], skills: [], languages: i % 10 < 3 ? ['en', 'de'] : ['en'], maxConcurrent: MAX_CONCURRENT, status: 'online',
  }, Date.now() - AGENTS + i)));
}

async function count(phase: string, mode: DispatchMode, seconds: number, records: Record_[], cpu: ReturnType<ReturnType<typeof cpuWindow>['end']>, admin: Redis, prefix: string): Promise<Counted> {
  const offeredBy = new Map<string, number>();
  let doubleOffers = 0;
  for (const r of records) for (const [id, at] of Object.entries(r.offered)) {
    if (offeredBy.has(id)) doubleOffers++;
    offeredBy.set(id, at);
  }
  const arrived = Object.assign({}, ...records.map((r) => r.arrived)) as Record<string, number>;
  const enqueued = Object.assign({}, ...records.map((r) => r.enqueued)) as Record<string, number>;
  const latency: number[] = [];
  const fromEnqueue: number[] = [];
  for (const [id, at] of offeredBy) {
    if (arrived[id] !== undefined) latency.push(at - arrived[id]);
    if (enqueued[id] !== undefined) fromEnqueue.push(at - enqueued[id]);
  }
  let overCapacity = 0;
  if (mode === 'routing') {
    for (const a of await createRedisDispatchStore({ client: admin, prefix }).agents()) if (a.load > a.maxConcurrent) overCapacity++;
  } else {
    for (let i = 0; i < AGENTS; i++) if ((await admin.scard(baselineKeys(prefix).load(`a-${i}`))) > MAX_CONCURRENT) overCapacity++;
  }
  const firstError = records.find((r) => r.firstError)?.firstError;
  return {
    phase, mode, offered: offeredBy.size, left: Object.keys(arrived).length - offeredBy.size, doubleOffers, overCapacity, seconds, perSecond: offeredBy.size / seconds,
    latencyMs: percentiles(latency), enqueuedToOfferedMs: percentiles(fromEnqueue), claimMs: percentiles(records.flatMap((r) => r.claimMs)), claims: records.reduce((n, r) => n + r.claimMs.length, 0), factsMs: percentiles(records.flatMap((r) => r.factsMs)),
    errors: records.reduce((n, r) => n + r.errors, 0), ...(firstError ? { firstError } : {}),
    cpuMsPerOffer: Object.fromEntries(Object.entries(cpu.ms).map(([name, ms]) => [name, Math.round((ms * 1000) / Math.max(1, offeredBy.size)) / 1000])),
    machineBusyPct: cpu.machineBusyPct, notOursPct: cpu.notOursPct,
  };
}

/**
 * Time Redis spent executing commands (INFO commandstats, since RESETSTAT): in total, and in
 * scripts. A script's own commands are counted under their names too, so the routing side's time
 * is its scripts' (its only top-level commands), the baseline's the total.
 */
function commandTime(info: string): { commandUs: number; scriptUs: number } {
  let commandUs = 0;
  let scriptUs = 0;
  for (const [, name, usec] of info.matchAll(/^cmdstat_(\w+):calls=\d+,usec=(\d+)/gm)) {
    commandUs += Number(usec);
    if (name === 'evalsha' || name === 'eval') scriptUs += Number(usec);
  }
  return { commandUs, scriptUs };
}

async function dropKeys(admin: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix.replace(/[{}[\]*?]/g, '\\$&')}:*`, 'COUNT', 1_000);
    cursor = next;
    if (keys.length > 0) await admin.unlink(...keys);
  } while (cursor !== '0');
}

function report(results: Counted[], gateway: GatewayPhase[] = []): void {
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');
  const pct = (p: Percentiles) => `${f(p.p50)} / ${f(p.p99)}`;
  const cpuPer = (c: Counted) => `${Object.entries(c.cpuMsPerOffer).filter(([n]) => n.startsWith('node')).reduce((s, [, v]) => s + v, 0) * 1000 | 0} / ${((c.cpuMsPerOffer.redis ?? 0) * 1000) | 0}`;
  const lines = [
    '| phase | side | offered (left queued) | double offers / over capacity | offers/s | queued → offered p50 / p99 ms | enqueued → offered p50 / p99 ms | claim calls per offer, p50 / p99 ms | facts p50 / p99 ms | nodes / redis CPU µs per offer | redis command time µs per offer | machine busy / not ours |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...results.map((c) => `| ${c.phase} | ${c.mode} | ${c.offered} (${c.left}) | ${c.doubleOffers} / ${c.overCapacity} | ${Math.round(c.perSecond)} | ${pct(c.latencyMs)} | ${pct(c.enqueuedToOfferedMs)} | ${f(c.claims / Math.max(1, c.offered))}: ${pct(c.claimMs)} | ${pct(c.factsMs)} | ${cpuPer(c)} | ${Math.round(((c.scriptUs || c.commandUs) ?? 0) / Math.max(1, c.offered))} | ${c.machineBusyPct}% / ${c.notOursPct}% |`),
    '',
  ];
  const base = (phase: string) => results.find((c) => c.mode === 'baseline' && c.phase.startsWith(phase));
  for (const c of results.filter((r) => r.mode === 'routing')) {
    const b = base(c.phase.startsWith('drain') ? 'drain' : 'paced');
    if (!b) continue;
    lines.push(c.phase.startsWith('drain')
      ? `${c.phase}: routing/baseline throughput ${f(c.perSecond / b.perSecond)} (${Math.round(c.perSecond)} vs ${Math.round(b.perSecond)} offers/s); claim call p50 ×${f(c.claimMs.p50 / b.claimMs.p50)}, p99 ×${f(c.claimMs.p99 / b.claimMs.p99)}`
      : `${c.phase}: queued → offered added over baseline p50 +${f(c.latencyMs.p50 - b.latencyMs.p50)} ms, p99 +${f(c.latencyMs.p99 - b.latencyMs.p99)} ms`);
    if (c.errors > 0) lines.push(`  ${c.errors} errors (${c.firstError})`);
  }
  if (gateway.length > 0) lines.push('', ...gatewayReport(gateway, results));
  console.log(lines.join('\n'));
  mkdirSync(join(root, '.data'), { recursive: true });
  writeFileSync(join(root, '.data/bench-dispatch.json'), JSON.stringify({ machine: { cpus: cpus().length, node: process.version }, settings: { agents: AGENTS, conversations: CONVERSATIONS, rate: RATE, liveRate: LIVE_RATE, liveConversations: LIVE_CONVERSATIONS, scanDepth: SCAN_DEPTH, maxConcurrent: MAX_CONCURRENT }, results, gateway }, null, 2));
}

if (isGenerator()) serveGenerator(dispatchNode() as unknown as Parameters<typeof serveGenerator>[0]);
else await main();

function gatewayReport(gateway: GatewayPhase[], results: Counted[]): string[] {
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');
  const pct = (p: Percentiles) => `${f(p.p50)} / ${f(p.p99)}`;
  const base = (phase: string) => results.find((c) => c.mode === 'baseline' && c.phase.startsWith(phase));
  const lines = [
    '| gateway phase | started (errors) | offered (double) | starts/s | offers/s | start request p50 / p99 ms | queued → offered p50 / p99 ms (streams) | queued → offer frame p50 / p99 ms (frames) | nodes CPU µs per offer | machine busy / not ours | load avg start → end |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...gateway.map((g) => `| ${g.phase} | ${g.started} (${g.startErrors}) | ${g.offered} (${g.doubleOffers}) | ${Math.round(g.startsPerSecond)} | ${Math.round(g.offersPerSecond)} | ${pct(g.startMs)} | ${pct(g.queuedToOfferedMs)} | ${pct(g.queuedToFrameMs)} (${g.frames}) | ${Math.round(((g.cpuMsPerOffer['node-a'] ?? 0) + (g.cpuMsPerOffer['node-b'] ?? 0)) * 1000)} | ${g.machineBusyPct}% / ${g.notOursPct}% | ${g.loadAvg[0].toFixed(1)} → ${g.loadAvg[1].toFixed(1)} |`),
    '',
  ];
  const paced = base('paced');
  const drain = base('drain');
  for (const g of gateway) {
    if (paced && g.phase.includes('paced')) lines.push(`${g.phase}: queued → offered ${pct(g.queuedToOfferedMs)} ms against the baseline's ${pct(paced.latencyMs)} ms (p50 / p99)`);
    if (drain && g.drainSeconds !== undefined) lines.push(`${g.phase}: ${Math.round(g.offersPerSecond)} offers/s against the baseline drain's ${Math.round(drain.perSecond)} (${f(g.offersPerSecond / drain.perSecond)}); ${f(g.drainSeconds)} s from setting the agents online to the last offer`);
    if (g.firstStartError) lines.push(`  ${g.startErrors} starts refused (${g.firstStartError})`);
  }
  return lines;
}
