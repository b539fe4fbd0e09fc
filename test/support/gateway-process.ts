import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after } from 'node:test';
import { connectorEnv } from '../../scripts/lib/backends.ts';
import { API_KEY, ROOT_DIR } from './gateway.ts';
import { freePort, TEST_KAFKA_BROKERS, TEST_REDIS_CACHE_URL, TEST_REDIS_URL, TEST_URLS } from './ports.ts';
import { waitFor } from './wait.ts';

/** Where each gateway process of a test writes its stdout and stderr (kept after the run, for a failure's post-mortem). */
export const TEST_LOG_DIR = join(ROOT_DIR, '.data/test-logs');
/** Where gateway processes keep Node's compile cache (NODE_COMPILE_CACHE): kept between runs, checked by Node against each file's content. */
export const COMPILE_CACHE_DIR = join(ROOT_DIR, '.data/node-compile-cache');

/** How a gateway process ended: its exit code, or the signal that ended it. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A gateway running as an OS process of its own (`node src/main.ts`), as ops run one node of several. */
export interface GatewayProcess {
  /** Its NODE_ID: what the gateway names itself in logs, outbox leases and `welcome` frames. */
  readonly nodeId: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** `ws://127.0.0.1:<port>`. */
  readonly wsUrl: string;
  /** The file its stdout and stderr go to. */
  readonly logFile: string;
  readonly child: ChildProcess;
  /** Settles when the process has ended, however it ended. */
  readonly exited: Promise<ProcessExit>;
  /** fetch against this node with the test API key (unless headers carry credentials already). */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** The JSON log lines it wrote so far (a line that is not JSON, e.g. a stack on stderr, as `{ msg }`). */
  logs(): Record<string, unknown>[];
  /** The records of its audit file so far (the one its host's primary writes), oldest first; none before the first. */
  auditRecords(): Record<string, unknown>[];
  /** SIGTERM: the graceful shutdown main.ts runs (sockets closed with 1012, outbox flushed). Resolves with how it ended. */
  stop(): Promise<ProcessExit>;
  /** SIGKILL, as a crash: nothing runs on the way out. Resolves once the process is gone. */
  kill(): Promise<ProcessExit>;
}

/** What a test may choose of a node; everything else is the shared test Redis, Kafka and backends. */
export interface GatewayProcessOptions {
  /** A short name for the log file and the default NODE_ID (`a`, `b` …). */
  readonly name: string;
  /** Its NODE_ID; default `<name>-<test pid>-<n>`, unique in the run. Give the old one to restart "the same node". */
  readonly nodeId?: string;
  /** Its HTTP port; default a free one. */
  readonly port?: number;
  /** Extra environment, over the defaults; `undefined` removes a default (e.g. `KAFKA_BROKERS: undefined` for the in-process bus). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** How long it may take to answer /readyz with `ready`; default 30 s. */
  readonly readyTimeoutMs?: number;
  /** Started by package.json's `start` script as npm runs it (`sh -c`, exec'd so that signals reach the node), with its defaults; default `node src/main.ts` as that script runs it. */
  readonly npmStart?: boolean;
}

/** Processes still running, killed when this test process ends whatever way it ends (no orphans holding ports). */
const running = new Map<ChildProcess, string>();
process.once('exit', () => {
  for (const [child, scratch] of running) {
    child.kill('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  }
});
let started = 0;

/**
 * Starts `node src/main.ts` on the test run's Redis, Kafka and backends, with its own port,
 * NODE_ID, audit file and package store, its output in `.data/test-logs/`, and waits until its
 * /readyz says `ready` (rejecting, with the log's tail, if it exits or times out first).
 * Prefer {@link gatewayProcesses}, which also stops every node after the test file.
 */
export async function startGatewayProcess(options: GatewayProcessOptions): Promise<GatewayProcess> {
  const httpPort = options.port ?? (await freePort());
  const nodeId = options.nodeId ?? `${options.name}-${process.pid}-${++started}`;
  const scratch = join(ROOT_DIR, '.data', `test-node-${nodeId}`);
  mkdirSync(TEST_LOG_DIR, { recursive: true });
  const logFile = join(TEST_LOG_DIR, `gateway-${nodeId}-${httpPort}.log`);
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH ?? '', ...connectorEnv(TEST_URLS), REDIS_URL: TEST_REDIS_URL, REDIS_CACHE_URL: TEST_REDIS_CACHE_URL, KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','),
    PORT: String(httpPort), HOST: '127.0.0.1', NODE_ID: nodeId, OMNIGATE_API_KEYS: `test:${API_KEY}`, LOG_LEVEL: 'info',
    // The test key's limit is counted in Redis, shared with every other test using it.
    OMNIGATE_RATE_LIMIT_PER_KEY: '1000000', OMNIGATE_EVENT_POLLING: 'false',
    // Breakers shared only by the nodes a test puts in one scope: the test Redis outlives each test's open breakers.
    OMNIGATE_BREAKER_SCOPE: nodeId,
    OMNIGATE_AUDIT_FILE: join(scratch, 'audit.jsonl'), OMNIGATE_PACKAGE_STORE_DIR: join(scratch, 'store'),
    // Node's on-disk compile cache, shared by every node of the run: a node after the first loads its
    // modules (TypeScript stripped, node_modules compiled) from it, not from source.
    NODE_COMPILE_CACHE: COMPILE_CACHE_DIR,
    ...options.env,
  };
  // A file, not a pipe: the node keeps writing while this process is busy, and the file outlives both.
  const out = openSync(logFile, 'a');
  // As npm start runs it: OpenTelemetry's instrumentations preloaded (src/instrument.ts).
  const child = options.npmStart
    // The node that runs this test first on the PATH: the script says `node`, and the system's may be another version.
    ? spawn('sh', ['-c', startScript().replace(/^((?:\w+=\S+\s+)*)/, '$1exec ')], { cwd: ROOT_DIR, env: definedOnly({ ...env, PATH: `${dirname(process.execPath)}:${env.PATH ?? ''}` }), stdio: ['ignore', out, out] })
    : spawn(process.execPath, ['--import', join(ROOT_DIR, 'src/instrument.ts'), join(ROOT_DIR, 'src/main.ts')], { cwd: ROOT_DIR, env: definedOnly(env), stdio: ['ignore', out, out] });
  closeSync(out);
  running.set(child, scratch);
  const exited = new Promise<ProcessExit>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      rmSync(scratch, { recursive: true, force: true });
      resolve({ code, signal });
    }),
  );
  const url = `http://127.0.0.1:${httpPort}`;
  const end = async (signal: NodeJS.Signals): Promise<ProcessExit> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  const node: GatewayProcess = {
    nodeId, port: httpPort, url, wsUrl: `ws://127.0.0.1:${httpPort}`, logFile, child, exited,
    api(path, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has('x-api-key') && !headers.has('authorization')) headers.set('x-api-key', API_KEY);
      return fetch(`${url}${path}`, { ...init, headers });
    },
    logs: () => readLogLines(logFile),
    auditRecords: () => (existsSync(String(env.OMNIGATE_AUDIT_FILE)) ? readLogLines(String(env.OMNIGATE_AUDIT_FILE)) : []),
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
  };
  let lastStatus = 'no answer';
  try {
    await waitFor(`gateway process ${nodeId} to be ready on port ${httpPort}`, async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`gateway process ${nodeId} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail(logFile)}`);
      const answer = await fetch(`${url}/readyz`).then((r) => r.json() as Promise<{ status: string }>, () => undefined);
      lastStatus = answer?.status ?? 'no answer';
      return lastStatus === 'ready';
    }, { timeoutMs: options.readyTimeoutMs ?? 30_000, intervalMs: 50, detail: () => `last /readyz: ${lastStatus}\n${tail(logFile)}` });
  } catch (err) {
    await node.kill();
    throw err;
  }
  return node;
}

/**
 * Gateway processes of one test file, all ended after it (SIGTERM, then SIGKILL for any that does
 * not exit within `graceMs`): `const nodes = gatewayProcesses();` at the top of the file, then
 * `await nodes.start({ name: 'a' })`.
 */
export function gatewayProcesses(graceMs = 10_000): { start(options: GatewayProcessOptions): Promise<GatewayProcess>; readonly all: readonly GatewayProcess[] } {
  const all: GatewayProcess[] = [];
  after(async () => {
    await Promise.all(all.map(async (node) => {
      const timer = setTimeout(() => node.child.kill('SIGKILL'), graceMs);
      await node.stop();
      clearTimeout(timer);
    }));
  });
  return {
    all,
    async start(options) {
      const node = await startGatewayProcess(options);
      all.push(node);
      return node;
    },
  };
}

/** package.json's `start` script. */
export function startScript(): string {
  return (JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
}

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function readLogLines(file: string): Record<string, unknown>[] {
  const text = readFileSync(file, 'utf8');
  return text.split('\n').filter((line) => line.trim()).map((line) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      return { msg: line };
    }
  });
}

/** The last lines of a node's log, for a failure message. */
function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
