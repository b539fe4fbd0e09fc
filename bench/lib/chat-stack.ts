// What the chat benches run against: Redis (durable and cache, and a second durable one with
// `appendfsync always` for the strictest durability), optionally Kafka, gateway nodes as their own
// processes (`node src/main.ts`), and the raw `ws` baseline server; everything on 127.0.0.1 and
// stopped at the end, on error and on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startKafka, type RunningKafka } from '../../scripts/lib/kafka.ts';
import { startRedis, type RunningRedis } from '../../scripts/lib/redis.ts';
import { withoutGatewaySettings } from './stack.ts';

/**
 * Clear of the demo (808x, 6379/6380, 9092/9093), the tests at any offset of 1000 (…379, …380,
 * …390, …081-083, …092/093, …180), the other benches (27xxx) and Linux's ephemeral range.
 */
const o = Number(process.env.BENCH_CHAT_PORT_OFFSET ?? 0);
/** The chat benches' ports; `BENCH_CHAT_PORT_OFFSET=N` moves them all by N (two benches at once on one machine). */
export const CHAT_BENCH_PORTS = {
  redis: 25479 + o, redisCache: 25480 + o, redisStrict: 25481 + o, kafka: 25492 + o, kafkaController: 25493 + o,
  gateways: [25410 + o, 25411 + o, 25412 + o, 25413 + o], raw: 25420 + o, inspectFirst: 25430 + o,
} as const;

/** The API key every gateway node accepts in the benches (services may open sockets with it). */
export const BENCH_API_KEY = 'bench-chat-0123456789abcdef';

/** Settings that differ from the defaults, and why, in bench/README.md ("Chat benches"). */
export const CHAT_GATEWAY_ENV: Readonly<Record<string, string>> = {
  OMNIGATE_RATE_LIMIT_PER_KEY: '100000000',
  LOG_LEVEL: 'warn',
};

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** --inspect port, for measureMemory. */
  readonly inspectPort: number;
  stop(): Promise<void>;
  /** SIGKILL. */
  kill(): Promise<void>;
}

/** Everything a bench started, stopped last first; Ctrl-C and SIGTERM stop it too. */
export interface Run {
  add(stop: () => Promise<void>): void;
  stopAll(): Promise<void>;
}

export function createRun(say: (line: string) => void): Run {
  const stops: (() => Promise<void>)[] = [];
  let stopping: Promise<void> | undefined;
  const run: Run = {
    add: (stop) => void stops.push(stop),
    stopAll: () =>
      (stopping ??= (async () => {
        while (stops.length > 0) await stops.pop()!().catch((err: unknown) => say(`stop failed: ${String(err)}`));
      })()),
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void run.stopAll().then(() => process.exit(130)));
  return run;
}

/** The durable Redis as in production (AOF, everysec); `appendfsync always` for the strict one. */
export async function startChatRedis(run: Run, options: { port: number; dir: string; role: 'durable' | 'cache'; fsync?: 'everysec' | 'always' }): Promise<RunningRedis> {
  // A fresh instance each run: an earlier run's conversations would otherwise load from its AOF.
  rmSync(options.dir, { recursive: true, force: true });
  const redis = await startRedis({ port: options.port, dir: options.dir, role: options.role, maxmemory: '2gb' });
  run.add(() => redis.stop());
  if (options.fsync === 'always') {
    const client = new Redis(redis.url, { lazyConnect: true });
    await client.connect();
    await client.config('SET', 'appendfsync', 'always');
    await client.quit();
  }
  return redis;
}

/** A fresh single-node Kafka (KRaft) for the outbox's relay, as in production. */
export async function startChatKafka(run: Run, rootDir: string): Promise<RunningKafka> {
  const dir = join(rootDir, '.data/bench-chat/kafka');
  rmSync(dir, { recursive: true, force: true });
  const kafka = await startKafka({ port: CHAT_BENCH_PORTS.kafka, controllerPort: CHAT_BENCH_PORTS.kafkaController, dir, rootDir });
  run.add(() => kafka.stop());
  return kafka;
}

let inspectPorts = 0;
const nextInspectPort = () => CHAT_BENCH_PORTS.inspectFirst + inspectPorts++;

/** A gateway node (`node src/main.ts`) on `port`, ready (readyz) when this resolves. */
export async function startGatewayNode(run: Run, options: {
  rootDir: string; name: string; port: number; logDir: string; env: Record<string, string>;
  /** --inspect port; default: the next of the chat benches' own (another bench gives its own). */
  inspectPort?: number;
}): Promise<ServerProcess> {
  const { rootDir, name, port, logDir } = options;
  const dataDir = join(rootDir, '.data/bench-chat', name);
  mkdirSync(join(dataDir, 'connectors'), { recursive: true });
  const inspectPort = options.inspectPort ?? nextInspectPort();
  const profile = process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${join(rootDir, '.data/bench-profile')}`] : [];
  // As npm start runs it: OpenTelemetry's instrumentations preloaded (src/instrument.ts).
  const child = spawnLogged(name, logDir, [`--inspect=127.0.0.1:${inspectPort}`, ...profile, '--disable-warning=TimeoutNegativeWarning', '--import', join(rootDir, 'src/instrument.ts'), join(rootDir, 'src/main.ts')], {
    ...withoutGatewaySettings(process.env, ['KAFKA_BROKERS', 'NODE_ID']),
    ...CHAT_GATEWAY_ENV,
    HOST: '127.0.0.1',
    PORT: String(port),
    NODE_ID: name,
    OMNIGATE_API_KEYS: `bench:${BENCH_API_KEY}`,
    // No connectors: the chat needs none, and none of their workers should share the CPU.
    OMNIGATE_CONNECTORS_DIR: join(dataDir, 'connectors'),
    OMNIGATE_PACKAGE_STORE_DIR: join(dataDir, 'store'),
    OMNIGATE_AUDIT_FILE: join(dataDir, 'audit.jsonl'),
    ...options.env,
  }, rootDir);
  const proc = serverProcess(name, child, port, inspectPort, '/v1/ws');
  run.add(() => proc.stop());
  // Listening (healthz), not readyz: a node without connectors reports not_ready (no connector serves), though its chat does.
  await waitReady(`http://127.0.0.1:${port}/healthz`, child, `${logDir}/${name}.log`);
  return proc;
}

/** The raw `ws` relay (bench/lib/raw-ws-server.ts) on `port`. */
export async function startRawServer(run: Run, options: { rootDir: string; port: number; logDir: string }): Promise<ServerProcess> {
  const inspectPort = nextInspectPort();
  const child = spawnLogged('raw-ws', options.logDir, [`--inspect=127.0.0.1:${inspectPort}`, join(options.rootDir, 'bench/lib/raw-ws-server.ts'), String(options.port)], { ...process.env }, options.rootDir);
  const proc = serverProcess('raw-ws', child, options.port, inspectPort, '/v1/ws');
  run.add(() => proc.stop());
  await waitReady(`http://127.0.0.1:${options.port}/`, child, `${options.logDir}/raw-ws.log`, (status) => status === 404);
  return proc;
}

function spawnLogged(name: string, logDir: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): ChildProcess {
  mkdirSync(logDir, { recursive: true });
  // A file, not a pipe to us: the server's writes must not wait on the load generator.
  const fd = openSync(join(logDir, `${name}.log`), 'w');
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return child;
}

function serverProcess(name: string, child: ChildProcess, port: number, inspectPort: number, wsPath: string): ServerProcess {
  const end = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
      if (signal !== 'SIGKILL') setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
    });
  return {
    name, pid: child.pid!, port, inspectPort,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}${wsPath}`,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
  };
}

async function waitReady(url: string, child: ChildProcess, log: string, ok: (status: number) => boolean = (status) => status === 200): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with ${child.exitCode} before it was ready (see ${log})`);
    const status = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then((r) => r.status, () => 0);
    if (ok(status)) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${url} was not ready within 60 s (see ${log})`);
}
