// Visitor → agent delivery latency through the gateway, added over a raw `ws` relay measured in
// the same run: same node, cross node (two gateway processes sharing Redis), under the default
// durability (AOF, appendfsync everysec); then the strictest setting (appendfsync always).
// Usage: node bench/chat-latency.ts [--pairs=20] [--rate=200] [--messages=3000] [--warmup=300] [--no-kafka] [--only=raw|same|everysec]
//   (~1.5 min; every process on 127.0.0.1, all stopped at the end)
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { args } from './lib/args.ts';
import { cpuWindow, perMessage } from './lib/cpu.ts';
import type { Credentials } from './lib/chat-auth.ts';
import { summarize, type SetupParams, type Summary, type TrackerResult } from './lib/chat-conversations.ts';
import { chatAuth, chatGatewayEnv, kafkaEnv } from './lib/chat-gateway.ts';
import { CHAT_BENCH_PORTS, createRun, startChatRedis, startGatewayNode, startRawServer, type Run, type ServerProcess } from './lib/chat-stack.ts';
import { startGenerators, type Generator } from './lib/generators.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ---- orchestrator ------------------------------------------------------------------------------
interface Phase {
  readonly phase: string;
  readonly summary: Summary;
  readonly cpu: ReturnType<ReturnType<typeof cpuWindow>['end']>;
  /** The servers' CPU with sockets open and no messages, in % of one core. */
  readonly idlePctOfCore: number;
}

async function measure(phase: string, gen: Generator, sides: { visitor: ServerProcess; agent: ServerProcess; visitorAuth: Credentials; agentAuth: Credentials; accept: boolean }): Promise<Phase> {
  const pairs = args.int('pairs', 20);
  const prefix = `${phase.replace(/\W+/g, '')}-${Date.now()}`;
  const setupParams: SetupParams = {
    visitorUrl: sides.visitor.wsUrl, agentUrl: sides.agent.wsUrl, visitor: sides.visitorAuth, agent: sides.agentAuth,
    agents: pairs, perAgent: 1, localAddress: gen.localAddress, concurrency: 10, accept: sides.accept, prefix,
  };
  const setup = await gen.call<{ failed: number; firstError?: string }>('setup', setupParams);
  if (setup.failed > 0) console.error(`[chat-latency] ${phase}: ${setup.failed} pairs could not be set up (${setup.firstError}): left out`);
  // What the servers burn with nothing to do (heartbeats, the outbox relay's and the job queues' polling, Kafka clients), for comparison.
  const servers = { [sides.visitor.name]: sides.visitor.pid, [sides.agent.name]: sides.agent.pid };
  const idleWindow = cpuWindow(servers, cpus().length);
  await new Promise((r) => setTimeout(r, 3_000));
  const idle = idleWindow.end();
  const idlePctOfCore = Math.round((Object.entries(idle.ms).filter(([n]) => n !== 'redis').reduce((a, [, v]) => a + v, 0) / (idle.seconds * 1000)) * 100);
  const window = cpuWindow({ generator: gen.pid, [sides.visitor.name]: sides.visitor.pid, [sides.agent.name]: sides.agent.pid }, cpus().length);
  const result = await gen.call<TrackerResult>('exchange', { total: args.int('messages', 3_000), rate: args.int('rate', 200), warmup: args.int('warmup', 300), agentShare: 0, drainMs: 10_000, prefix });
  const cpu = window.end();
  await gen.call('teardown');
  const summary = summarize([result]);
  console.error(`[chat-latency] ${phase}: delivery p50 ${summary.deliveryMs.p50.toFixed(2)} ms, p99 ${summary.deliveryMs.p99.toFixed(2)} ms; lost ${summary.lost}, errors ${summary.errors}${summary.firstError ? ` (${summary.firstError})` : ''}`);
  return { phase, summary, cpu, idlePctOfCore };
}

async function main(run: Run): Promise<void> {
  const logDir = join(root, '.data/bench-logs/chat-latency');
  const say = (line: string) => console.error(`[chat-latency] ${line}`);
  const [gen] = await startGenerators(join(root, 'bench/lib/exchange-generator.ts'), 1);
  run.add(() => gen!.stop());
  const phases: Phase[] = [];

  say('raw ws relay…');
  const raw = await startRawServer(run, { rootDir: root, port: CHAT_BENCH_PORTS.raw, logDir });
  phases.push(await measure('raw ws relay', gen!, { visitor: raw, agent: raw, visitorAuth: { kind: 'none' }, agentAuth: { kind: 'none' }, accept: false }));
  await raw.stop();
  if (args.str('only', '') === 'raw') return report(phases);

  say('gateway, appendfsync everysec: redis and two nodes…');
  const cache = await startChatRedis(run, { port: CHAT_BENCH_PORTS.redisCache, dir: join(root, '.data/bench-chat/redis-cache'), role: 'cache' });
  const redis = await startChatRedis(run, { port: CHAT_BENCH_PORTS.redis, dir: join(root, '.data/bench-chat/redis'), role: 'durable' });
  const kafka = await kafkaEnv(run, root, say);
  const env = chatGatewayEnv({ REDIS_URL: redis.url, REDIS_CACHE_URL: cache.url }, kafka);
  // One after the other: two starting at once on a busy 2-core machine can meet Redis time-outs.
  // `--only=same`: the raw relay and one node, no second node (its idle work stays off the machine too).
  const sameOnly = args.str('only', '') === 'same';
  const a = await startGatewayNode(run, { rootDir: root, name: 'bench-node-a', port: CHAT_BENCH_PORTS.gateways[0], logDir, env });
  const b = sameOnly ? undefined : await startGatewayNode(run, { rootDir: root, name: 'bench-node-b', port: CHAT_BENCH_PORTS.gateways[1], logDir, env });
  const auth = { visitorAuth: await chatAuth(a, 'visitor'), agentAuth: await chatAuth(a, 'agent'), accept: true };
  phases.push(await measure('gateway, same node', gen!, { visitor: a, agent: a, ...auth }));
  if (b) phases.push(await measure('gateway, cross node', gen!, { visitor: a, agent: b, ...auth }));
  await Promise.all([a.stop(), b?.stop()]);
  if (args.str('only', '') === 'everysec' || sameOnly) return report(phases);

  say('gateway, appendfsync always: its own redis and node…');
  const strict = await startChatRedis(run, { port: CHAT_BENCH_PORTS.redisStrict, dir: join(root, '.data/bench-chat/redis-strict'), role: 'durable', fsync: 'always' });
  const strictEnv = chatGatewayEnv({ REDIS_URL: strict.url, REDIS_CACHE_URL: cache.url }, kafka);
  const c = await startGatewayNode(run, { rootDir: root, name: 'bench-node-c', port: CHAT_BENCH_PORTS.gateways[2], logDir, env: strictEnv });
  const d = await startGatewayNode(run, { rootDir: root, name: 'bench-node-d', port: CHAT_BENCH_PORTS.gateways[3], logDir, env: strictEnv });
  const strictAuth = { visitorAuth: await chatAuth(c, 'visitor'), agentAuth: await chatAuth(c, 'agent'), accept: true };
  phases.push(await measure('gateway, same node, fsync always', gen!, { visitor: c, agent: c, ...strictAuth }));
  phases.push(await measure('gateway, cross node, fsync always', gen!, { visitor: c, agent: d, ...strictAuth }));
  report(phases);
}

function report(phases: Phase[]): void {
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');
  const base = phases[0]!.summary;
  const everysec = phases.find((p) => p.phase === 'gateway, same node')?.summary;
  const added = (s: Summary, over: Summary | undefined) => (over ? `+${f(s.deliveryMs.p50 - over.deliveryMs.p50)} / +${f(s.deliveryMs.p99 - over.deliveryMs.p99)}` : '-');
  const lines = [
    '| phase | delivered | lost | retried | delivery p50 / p90 / p99 / max ms | ack p50 / p99 ms | added over raw ws p50 / p99 ms | added over everysec p50 / p99 ms | server / redis CPU µs per message | server idle, % of a core | machine busy / not ours |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...phases.map(({ phase, summary: s, cpu, idlePctOfCore }) =>
      `| ${phase} | ${s.delivered}/${s.sent} | ${s.lost} | ${s.retries} | ${f(s.deliveryMs.p50)} / ${f(s.deliveryMs.p90)} / ${f(s.deliveryMs.p99)} / ${f(s.deliveryMs.max)} | ${f(s.ackMs.p50)} / ${f(s.ackMs.p99)} | ${phase === phases[0]!.phase ? 'baseline' : added(s, base)} | ${phase.includes('always') ? added(s, phase.includes('cross') ? phases.find((p) => p.phase === 'gateway, cross node')?.summary : everysec) : '-'} | ${perMessage(cpu.ms, s.sent + args.int('warmup', 300))} | ${idlePctOfCore}% | ${cpu.machineBusyPct}% / ${cpu.notOursPct}% |`),
    '',
    'goal: added over raw ws ≤ 1 ms p50, ≤ 5 ms p99 (same node and cross node, appendfsync everysec)',
  ];
  console.log(lines.join('\n'));
  mkdirSync(join(root, '.data'), { recursive: true });
  writeFileSync(join(root, '.data/bench-chat-latency.json'), JSON.stringify({ machine: { cpus: cpus().length, node: process.version }, settings: { pairs: args.int('pairs', 20), rate: args.int('rate', 200), messages: args.int('messages', 3_000) }, phases }, null, 2));
}

const run = createRun((line) => console.error(line));
try {
  await main(run);
} finally {
  await run.stopAll();
}
