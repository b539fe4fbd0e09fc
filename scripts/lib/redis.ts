import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { probePort } from './probe.ts';

export interface RunningRedis {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  /** Kills redis-server with SIGKILL, as a crash would: nothing is flushed on the way out. */
  kill(): Promise<void>;
}

/**
 * What an instance holds. `durable`: the outbox, event log, idempotency records, BullMQ, webhook
 * subscriptions, cursors and leases — state that must survive a crash and must never be evicted.
 * `cache`: stale answers and rate-limit buckets — user-driven, evictable, rebuilt by traffic.
 */
export type RedisRole = 'durable' | 'cache';

/**
 * The persistence and eviction policy of each role (README, "Redis: two instances"), the one
 * place the demo, the tests and the benchmarks take it from; docker/compose.yaml repeats it and a
 * test keeps the two in line. Durable: the append-only file, fsynced once a second (a crash of
 * the host can lose the last second of writes, a crash of redis-server alone loses nothing), and
 * `noeviction`, because BullMQ and the outbox must see a refused write rather than lose a key.
 * Cache: no persistence, least-recently-used keys make room under `maxmemory`.
 */
export const REDIS_SETTINGS: Readonly<Record<RedisRole, readonly string[]>> = {
  durable: ['--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--maxmemory-policy', 'noeviction'],
  cache: ['--appendonly', 'no', '--save', '', '--maxmemory-policy', 'allkeys-lru'],
};

/** `maxmemory` of each role in the demo and the tests; the cache needs one for LRU to act at all. */
export const DEFAULT_REDIS_MAXMEMORY: Readonly<Record<RedisRole, string>> = { durable: '256mb', cache: '64mb' };

/**
 * Starts a private redis-server on loopback (no config file, data in `dir`) with the settings of
 * its role and waits for PING.
 */
export async function startRedis(options: { port: number; dir: string; role: RedisRole; maxmemory?: string; /** More arguments (cluster mode, say). */ args?: readonly string[] }): Promise<RunningRedis> {
  mkdirSync(options.dir, { recursive: true });
  if (await answersPing(options.port)) throw new Error(`port ${options.port} for redis is already in use (set REDIS_PORT / REDIS_CACHE_PORT to another port)`);
  const maxmemory = options.maxmemory ?? DEFAULT_REDIS_MAXMEMORY[options.role];
  const args = ['--bind', '127.0.0.1', '--port', String(options.port), '--dir', options.dir, ...REDIS_SETTINGS[options.role], '--maxmemory', maxmemory, '--protected-mode', 'yes', '--loglevel', 'warning', ...(options.args ?? [])];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', (err) => reject(new Error(`could not start redis-server: ${err.message} (run scripts/install.sh)`))));
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(options.port))) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${stderr.trim()}`);
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${options.port}: ${stderr.trim()}`);
    await Promise.race([new Promise((r) => setTimeout(r, 50)), spawnFailed]);
  }
  const end = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
      if (signal !== 'SIGKILL') setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
    });
  return { url: `redis://127.0.0.1:${options.port}`, port: options.port, stop: () => end('SIGTERM'), kill: () => end('SIGKILL') };
}

/** The gateway's two Redis instances, started side by side. */
export interface RunningRedisPair {
  readonly durable: RunningRedis;
  readonly cache: RunningRedis;
  /** REDIS_URL and REDIS_CACHE_URL for the gateway's environment. */
  readonly env: { readonly REDIS_URL: string; readonly REDIS_CACHE_URL: string };
  stop(): Promise<void>;
}

/** Starts the durable instance (data in `dir/durable`) and the cache instance; stops both if one fails. */
export async function startRedisPair(options: { port: number; cachePort: number; dir: string; /** The durable one's, when not the default. */ durableMaxmemory?: string }): Promise<RunningRedisPair> {
  const [durable, cache] = await Promise.allSettled([
    startRedis({ port: options.port, dir: join(options.dir, 'durable'), role: 'durable', ...(options.durableMaxmemory ? { maxmemory: options.durableMaxmemory } : {}) }),
    startRedis({ port: options.cachePort, dir: join(options.dir, 'cache'), role: 'cache' }),
  ]);
  if (durable.status === 'rejected' || cache.status === 'rejected') {
    await Promise.all([durable, cache].map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
    throw durable.status === 'rejected' ? durable.reason : (cache as PromiseRejectedResult).reason;
  }
  return {
    durable: durable.value,
    cache: cache.value,
    env: { REDIS_URL: durable.value.url, REDIS_CACHE_URL: cache.value.url },
    stop: async () => void (await Promise.all([durable.value.stop(), cache.value.stop()])),
  };
}

const answersPing = (port: number) => probePort(port, { send: 'PING\r\n', expect: '+PONG' });
