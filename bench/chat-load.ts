// A load of concurrent conversations: 10,000 visitor sockets and 1,000 agent sockets holding 10
// conversations each, over at least two generator processes, exchanging 2,000 messages per second
// in total for a bounded time. Ack latency (sender → its ack, which the gateway sends once the
// append is durable) and delivery latency (sender → the other side) p50/p99, and messages lost:
// client ids acknowledged but never received by the other side (must be 0). The same load on the
// raw `ws` relay, in the same run, is the baseline.
// Usage: node bench/chat-load.ts [--conversations=10000] [--agents=1000] [--rate=2000] [--seconds=30]
//          [--generators=2] [--agent-share=0.5] [--nodes=1|2] [--only=raw|gateway] [--no-kafka]
//   (~2.5 min at the defaults; every process on 127.0.0.1, all stopped at the end)
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { args } from './lib/args.ts';
import type { Credentials } from './lib/chat-auth.ts';
import { summarize, type SetupParams, type Summary, type TrackerResult } from './lib/chat-conversations.ts';
import { chatAuth, chatGatewayEnv, kafkaEnv } from './lib/chat-gateway.ts';
import { CHAT_BENCH_PORTS, createRun, startChatRedis, startGatewayNode, startRawServer, type Run, type ServerProcess } from './lib/chat-stack.ts';
import { cpuWindow, perMessage } from './lib/cpu.ts';
import { startGenerators, type Generator } from './lib/generators.ts';
import type { ExchangeParams } from './lib/exchange-generator.ts';
import { measureMemory } from './lib/memory.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const settings = {
  conversations: args.int('conversations', 10_000),
  agents: args.int('agents', 1_000),
  rate: args.int('rate', 2_000),
  seconds: args.int('seconds', 30),
  generators: args.int('generators', 2),
  agentShare: Number(args.str('agent-share', '0.5')),
  nodes: args.int('nodes', 1),
};

interface Phase {
  readonly phase: string;
  readonly setupSeconds: number;
  readonly conversations: number;
  /** Conversations whose setup failed (a socket closed by the server): left out of the exchange. */
  readonly setupFailed: number;
  readonly summary: Summary;
  readonly cpu: ReturnType<ReturnType<typeof cpuWindow>['end']>;
  readonly serverRssMb: Record<string, number>;
}

async function measure(phase: string, gens: Generator[], sides: { visitor: ServerProcess; agent: ServerProcess; visitorAuth: Credentials; agentAuth: Credentials; accept: boolean }): Promise<Phase> {
  const say = (line: string) => console.error(`[chat-load] ${phase}: ${line}`);
  const prefix = `${phase.replace(/\W+/g, '')}-${Date.now()}`;
  const agentsPer = Math.floor(settings.agents / gens.length);
  const perAgent = Math.floor(settings.conversations / settings.agents);
  say(`opening ${agentsPer * gens.length} agents and ${agentsPer * perAgent * gens.length} visitors, starting and accepting their conversations…`);
  const setupStarted = performance.now();
  const setups = await Promise.all(gens.map((g) => g.call<{ conversations: number; failed: number; firstError?: string }>('setup', {
    visitorUrl: sides.visitor.wsUrl, agentUrl: sides.agent.wsUrl, visitor: sides.visitorAuth, agent: sides.agentAuth,
    agents: agentsPer, perAgent, localAddress: g.localAddress, concurrency: 32, accept: sides.accept, prefix: `${prefix}-g${g.index}`,
  } satisfies SetupParams)));
  const setupSeconds = Math.round((performance.now() - setupStarted) / 100) / 10;
  const conversations = setups.reduce((n, r) => n + r.conversations, 0);
  const setupFailed = setups.reduce((n, r) => n + r.failed, 0);
  if (setupFailed > 0) say(`${setupFailed} conversations could not be set up (first: ${setups.find((r) => r.firstError)?.firstError}): left out`);
  say(`${conversations} conversations set up in ${setupSeconds} s; ${settings.rate} messages/s for ${settings.seconds} s…`);
  const servers = [...new Set([sides.visitor, sides.agent])];
  const window = cpuWindow(Object.fromEntries([...servers.map((s) => [s.name, s.pid]), ...gens.map((g) => [`generator-${g.index}`, g.pid])]), cpus().length);
  const perGenRate = settings.rate / gens.length;
  const results = await Promise.all(gens.map((g) => g.call<TrackerResult>('exchange', {
    total: Math.round(perGenRate * settings.seconds), rate: perGenRate, warmup: Math.round(perGenRate * 2), agentShare: settings.agentShare, drainMs: 30_000, prefix: `${prefix}-g${g.index}`,
  } satisfies ExchangeParams)));
  const cpu = window.end();
  const serverRssMb: Record<string, number> = {};
  for (const s of servers) serverRssMb[s.name] = Math.round((await measureMemory(s.pid, s.inspectPort)).rss / 1024 / 1024);
  await Promise.all(gens.map((g) => g.call('teardown')));
  const summary = summarize(results);
  say(`acked ${summary.acked}/${summary.sent}, delivered ${summary.delivered}, lost ${summary.lost}, errors ${summary.errors}${summary.firstError ? ` (first: ${summary.firstError})` : ''}`);
  return { phase, setupSeconds, conversations, setupFailed, summary, cpu, serverRssMb };
}

async function main(run: Run): Promise<void> {
  const logDir = join(root, '.data/bench-logs/chat-load');
  const only = args.str('only', '');
  const gens = await startGenerators(join(root, 'bench/lib/exchange-generator.ts'), Math.max(2, settings.generators));
  run.add(async () => void (await Promise.all(gens.map((g) => g.stop()))));
  const phases: Phase[] = [];
  if (only !== 'gateway') {
    const raw = await startRawServer(run, { rootDir: root, port: CHAT_BENCH_PORTS.raw, logDir });
    phases.push(await measure('raw ws relay', gens, { visitor: raw, agent: raw, visitorAuth: { kind: 'none' }, agentAuth: { kind: 'none' }, accept: false }));
    await raw.stop();
  }
  if (only !== 'raw') {
    const cache = await startChatRedis(run, { port: CHAT_BENCH_PORTS.redisCache, dir: join(root, '.data/bench-chat/redis-cache'), role: 'cache' });
    const redis = await startChatRedis(run, { port: CHAT_BENCH_PORTS.redis, dir: join(root, '.data/bench-chat/redis'), role: 'durable' });
    const env = chatGatewayEnv({ REDIS_URL: redis.url, REDIS_CACHE_URL: cache.url }, await kafkaEnv(run, root, (line) => console.error(`[chat-load] ${line}`)));
    const a = await startGatewayNode(run, { rootDir: root, name: 'bench-node-a', port: CHAT_BENCH_PORTS.gateways[0], logDir, env });
    const b = settings.nodes > 1 ? await startGatewayNode(run, { rootDir: root, name: 'bench-node-b', port: CHAT_BENCH_PORTS.gateways[1], logDir, env }) : a;
    const auth = { visitorAuth: await chatAuth(a, 'visitor'), agentAuth: await chatAuth(b, 'agent'), accept: true };
    phases.push(await measure(settings.nodes > 1 ? 'gateway, visitors on A, agents on B' : 'gateway, one node', gens, { visitor: a, agent: b, ...auth }));
  }
  report(phases);
}

function report(phases: Phase[]): void {
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');
  const lines = [
    '| phase | conversations (setup failed) | setup s | sent | acked | delivered | lost | dup | retried | errors | ack p50 / p99 ms | delivery p50 / p99 / max ms | send lag p99 ms | server RSS MB | CPU s (by process) | server / redis CPU µs per message | machine busy / not ours |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...phases.map(({ phase, conversations, setupFailed, setupSeconds, summary: s, cpu, serverRssMb }) =>
      `| ${phase} | ${conversations} (${setupFailed}) | ${setupSeconds} | ${s.sent} | ${s.acked} | ${s.delivered} | ${s.lost} | ${s.duplicates} | ${s.retries} | ${s.errors} | ${f(s.ackMs.p50)} / ${f(s.ackMs.p99)} | ${f(s.deliveryMs.p50)} / ${f(s.deliveryMs.p99)} / ${f(s.deliveryMs.max)} | ${f(s.scheduleLagMs.p99)} | ${Object.entries(serverRssMb).map(([n, v]) => `${n} ${v}`).join(', ')} | ${Object.entries(cpu.ms).map(([n, v]) => `${n} ${(v / 1000).toFixed(1)}`).join(', ')} | ${perMessage(cpu.ms, s.sent + settings.rate * 2)} | ${cpu.machineBusyPct}% / ${cpu.notOursPct}% |`),
  ];
  const [raw, gw] = [phases.find((p) => p.phase.startsWith('raw')), phases.find((p) => p.phase.startsWith('gateway'))];
  if (raw && gw) lines.push('', `added over raw ws: ack p50 +${f(gw.summary.ackMs.p50 - raw.summary.ackMs.p50)} ms, p99 +${f(gw.summary.ackMs.p99 - raw.summary.ackMs.p99)} ms; delivery p50 +${f(gw.summary.deliveryMs.p50 - raw.summary.deliveryMs.p50)} ms, p99 +${f(gw.summary.deliveryMs.p99 - raw.summary.deliveryMs.p99)} ms`);
  console.log(lines.join('\n'));
  mkdirSync(join(root, '.data'), { recursive: true });
  writeFileSync(join(root, '.data/bench-chat-load.json'), JSON.stringify({ machine: { cpus: cpus().length, node: process.version }, settings, phases }, null, 2));
}

const run = createRun((line) => console.error(line));
try {
  await main(run);
} finally {
  await run.stopAll();
}
