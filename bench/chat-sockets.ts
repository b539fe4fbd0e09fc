// Idle sockets per server process and memory per socket: the gateway against a raw `ws` server
// holding the same count, in one run. Each socket is authenticated, has started a conversation,
// is subscribed to it and has received one message; then it stays open and idle while the
// server's memory is measured (full GC through the inspector, then process.memoryUsage and RSS).
// Usage: node bench/chat-sockets.ts [--sockets=10000] [--generators=N] [--only=raw|gateway] [--no-kafka]
//   (~2 min at 10,000; every process on 127.0.0.1, all stopped at the end)
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { socketAuth, type Credentials } from './lib/chat-auth.ts';
import { expectReply, inBatches, openChatSocket, requestRetrying, type ChatSocket } from './lib/chat-client.ts';
import { chatAuth, chatGatewayEnv, kafkaEnv } from './lib/chat-gateway.ts';
import { CHAT_BENCH_PORTS, createRun, startChatRedis, startGatewayNode, startRawServer, type Run, type ServerProcess } from './lib/chat-stack.ts';
import { isGenerator, serveGenerator, startGenerators, type Generator } from './lib/generators.ts';
import { measureMemory, memoryDelta, openFiles, startHeapSampling, type MemorySample } from './lib/memory.ts';
import { args } from './lib/args.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ---- generator side: open and hold sockets --------------------------------------------------
const held: ChatSocket[] = [];

interface HoldParams {
  readonly generator: number;
  readonly url: string;
  readonly credentials: Credentials;
  readonly count: number;
  readonly localAddress: string;
  readonly concurrency: number;
}

async function hold(p: HoldParams): Promise<{ opened: number; failed: number; firstError?: string; ms: number }> {
  const started = performance.now();
  let failed = 0;
  let firstError: string | undefined;
  await inBatches(Array.from({ length: p.count }, (_, i) => i), p.concurrency, async (i) => {
    try {
      held.push(await oneSocket(p, `g${p.generator}-${i}`));
    } catch (err) {
      failed++;
      firstError ??= err instanceof Error ? err.message : String(err);
    }
  });
  return { opened: held.length, failed, ...(firstError ? { firstError } : {}), ms: Math.round(performance.now() - started) };
}

/** Authenticated, started a conversation, subscribed to it, received its first message. */
async function oneSocket(p: HoldParams, name: string): Promise<ChatSocket> {
  const socket = await openChatSocket(p.url, await socketAuth(p.credentials, name), { localAddress: p.localAddress });
  let timer: NodeJS.Timeout | undefined;
  const received = new Promise<void>((resolveReceived, reject) => {
    timer = setTimeout(() => reject(new Error('no message within 30 s of subscribing')), 30_000);
    socket.onFrame = (frame) => {
      const event = frame.event as { type?: string } | undefined;
      if (frame.type === 'event' && event?.type === 'conversation.message_sent') {
        socket.onFrame = undefined;
        clearTimeout(timer);
        resolveReceived();
      }
    };
  });
  try {
    const started = expectReply(await requestRetrying(socket, { type: 'conversation.start', id: `${name}-s`, text: 'hello' }), 'ack');
    expectReply(await requestRetrying(socket, { type: 'subscribe', id: `${name}-sub`, conversationId: started.conversationId, afterSeq: 0 }), 'subscribed');
    await received;
    return socket;
  } catch (err) {
    // A socket that failed is counted and closed; its timer must not fail the whole run later.
    clearTimeout(timer);
    received.catch(() => {});
    socket.close();
    throw err;
  }
}

async function release(): Promise<{ closed: number }> {
  const n = held.length;
  for (const s of held.splice(0)) s.close();
  return { closed: n };
}

// ---- orchestrator ------------------------------------------------------------------------------
interface Side {
  readonly side: string;
  readonly sockets: number;
  readonly failed: number;
  readonly openSeconds: number;
  readonly serverOpenFiles: number;
  readonly before: MemorySample;
  readonly after: MemorySample;
  readonly perSocketBytes: MemorySample;
}

async function measureSide(side: string, server: ServerProcess, generators: Generator[], credentials: Credentials, total: number): Promise<Side> {
  await new Promise((r) => setTimeout(r, 1_000));
  const before = await measureMemory(server.pid, server.inspectPort);
  const sampling = process.env.BENCH_HEAP_PROFILE === '1' ? await startHeapSampling(server.inspectPort) : undefined;
  const started = performance.now();
  const shares = generators.map((g, i) => Math.floor(total / generators.length) + (i < total % generators.length ? 1 : 0));
  const results = await Promise.all(generators.map((g, i) =>
    g.call<{ opened: number; failed: number; firstError?: string }>('hold', { url: server.wsUrl, credentials, count: shares[i], localAddress: g.localAddress, concurrency: 64 })));
  const openSeconds = (performance.now() - started) / 1000;
  const opened = results.reduce((n, r) => n + r.opened, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const firstError = results.find((r) => r.firstError)?.firstError;
  if (firstError) console.error(`${side}: ${failed} sockets failed, first: ${firstError}`);
  await new Promise((r) => setTimeout(r, 2_000));
  const after = await measureMemory(server.pid, server.inspectPort);
  const heapSites = await sampling?.stop();
  if (heapSites) {
    const file = join(root, `.data/bench-chat-sockets-heap-${side.replace(/\W+/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(heapSites, null, 2));
    console.error(`${side}: live heap by allocation site (sampled), per socket:\n${heapSites.slice(0, 15).map((h) => `  ${(h.bytes / Math.max(1, total)).toFixed(0).padStart(6)} B  ${h.site}`).join('\n')}`);
  }
  const serverOpenFiles = openFiles(server.pid);
  await Promise.all(generators.map((g) => g.call('release')));
  const delta = memoryDelta(before, after);
  const per = (v: number) => (opened ? Math.round(v / opened) : NaN);
  return {
    side, sockets: opened, failed, openSeconds: Math.round(openSeconds * 10) / 10, serverOpenFiles, before, after,
    perSocketBytes: { rss: per(delta.rss), heapUsed: per(delta.heapUsed), heapTotal: per(delta.heapTotal), external: per(delta.external), arrayBuffers: per(delta.arrayBuffers) },
  };
}

async function main(run: Run): Promise<void> {
  const total = args.int('sockets', 10_000);
  const only = args.str('only', '');
  const generatorCount = args.int('generators', Math.max(2, Math.ceil(total / 5_000)));
  const logDir = join(root, '.data/bench-logs/chat-sockets');
  const say = (line: string) => console.error(`[chat-sockets] ${line}`);
  const generators = await startGenerators(fileURLToPath(import.meta.url), generatorCount);
  run.add(async () => void (await Promise.all(generators.map((g) => g.stop()))));
  const sides: Side[] = [];
  if (only !== 'gateway') {
    say(`raw ws: ${total} sockets from ${generatorCount} generators…`);
    const raw = await startRawServer(run, { rootDir: root, port: CHAT_BENCH_PORTS.raw, logDir });
    sides.push(await measureSide('raw ws', raw, generators, { kind: 'none' }, total));
    await raw.stop();
  }
  if (only !== 'raw') {
    say('gateway: starting redis and one node…');
    const redis = await startChatRedis(run, { port: CHAT_BENCH_PORTS.redis, dir: join(root, '.data/bench-chat/redis'), role: 'durable' });
    const cache = await startChatRedis(run, { port: CHAT_BENCH_PORTS.redisCache, dir: join(root, '.data/bench-chat/redis-cache'), role: 'cache' });
    const kafka = await kafkaEnv(run, root, say);
    const node = await startGatewayNode(run, { rootDir: root, name: 'bench-node-a', port: CHAT_BENCH_PORTS.gateways[0], logDir, env: chatGatewayEnv({ REDIS_URL: redis.url, REDIS_CACHE_URL: cache.url }, kafka) });
    say(`gateway: ${total} sockets from ${generatorCount} generators…`);
    sides.push(await measureSide('gateway', node, generators, await chatAuth(node, 'visitor'), total));
  }
  report(sides, { total, generatorCount });
}

function report(sides: Side[], setup: { total: number; generatorCount: number }): void {
  const kb = (v: number) => (v / 1024).toFixed(1);
  const mb = (v: number) => (v / 1024 / 1024).toFixed(1);
  const lines = [
    '| server | sockets held | failed | open time s | server fds | RSS before → after MB | heap before → after MB | RSS KB/socket | heap KB/socket | external KB/socket |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...sides.map((s) => `| ${s.side} | ${s.sockets} | ${s.failed} | ${s.openSeconds} | ${s.serverOpenFiles} | ${mb(s.before.rss)} → ${mb(s.after.rss)} | ${mb(s.before.heapUsed)} → ${mb(s.after.heapUsed)} | ${kb(s.perSocketBytes.rss)} | ${kb(s.perSocketBytes.heapUsed)} | ${kb(s.perSocketBytes.external)} |`),
  ];
  const raw = sides.find((s) => s.side === 'raw ws');
  const gw = sides.find((s) => s.side === 'gateway');
  const ratios = raw && gw ? {
    rssPerSocket: Math.round((gw.perSocketBytes.rss / raw.perSocketBytes.rss) * 100) / 100,
    heapPerSocket: Math.round((gw.perSocketBytes.heapUsed / raw.perSocketBytes.heapUsed) * 100) / 100,
  } : undefined;
  if (ratios) lines.push('', `gateway / raw ws, per socket: RSS ×${ratios.rssPerSocket}, heap ×${ratios.heapPerSocket} (goal: ≤ ×1.5)`);
  console.log(lines.join('\n'));
  const result = { machine: { cpus: cpus().length, node: process.version }, setup, sides, ratios };
  mkdirSync(join(root, '.data'), { recursive: true });
  writeFileSync(join(root, '.data/bench-chat-sockets.json'), JSON.stringify(result, null, 2));
}

if (isGenerator()) serveGenerator({ hold: hold as (p: never) => Promise<unknown>, release });
else {
  const run = createRun((line) => console.error(line));
  try {
    await main(run);
  } finally {
    await run.stopAll();
  }
}
