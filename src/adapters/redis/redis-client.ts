import { Redis } from 'ioredis';
import type { Logger } from '../../kernel/logger.ts';
import type { StoreHealth } from '../../ports/cache.ts';

export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 200;

export interface RedisHandle extends StoreHealth {
  readonly client: Redis;
  /**
   * Resolves once the connection is ready, or after `timeoutMs` if it is not (never rejects):
   * commands fail fast without an offline queue, so start-up reads wait for it first.
   */
  ready(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface RedisOptions {
  /** Its name in /readyz and the log; default `redis`. */
  readonly name?: string;
  /** What the gateway does without it, for the warning when the connection drops. */
  readonly whenLost?: string;
  readonly commandTimeoutMs?: number;
  /** Commands sent at once rather than gathered into the tick's pipeline (ioredis's `autoPipeliningIgnoredCommands`). */
  readonly unpipelined?: readonly string[];
  /**
   * What /readyz checks while it is up: the eviction policy it must run with and the share of
   * its maxmemory (percent) past which it warns. Without it, up is all there is to say.
   */
  readonly expect?: { readonly policy: string; readonly memoryWarnPercent: number };
}

/**
 * One ioredis client for the gateway's shared state. Commands fail fast while Redis is away (no
 * offline queue, a short command timeout) so that callers can degrade instead of hanging; the
 * client keeps reconnecting with backoff and says so in the log.
 */
export function createRedis(url: string, log: Logger, options: RedisOptions = {}): RedisHandle {
  const name = options.name ?? 'redis';
  const redisLog = log.child({ module: 'redis', store: name });
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: 1_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    lazyConnect: false,
    enableAutoPipelining: true,
    ...(options.unpipelined ? { autoPipeliningIgnoredCommands: [...options.unpipelined] } : {}),
  });
  let up = false;
  client.on('ready', () => {
    if (!up) redisLog.info({ url: redactUrl(url) }, 'redis connected');
    up = true;
  });
  client.on('end', () => (up = false));
  client.on('close', () => {
    if (up) redisLog.warn({ url: redactUrl(url), degrades: options.whenLost ?? 'no cache and per-node limits' }, 'redis connection lost');
    up = false;
  });
  client.on('error', (err: Error) => redisLog.debug({ err }, 'redis error'));
  const expect = options.expect;
  return {
    name,
    client,
    isUp: () => up && client.status === 'ready',
    async ready(timeoutMs) {
      if (client.status === 'ready') return true;
      let timer: NodeJS.Timeout | undefined;
      let onReady: (() => void) | undefined;
      const isReady = await new Promise<boolean>((resolve) => {
        onReady = () => resolve(true);
        client.once('ready', onReady);
        timer = setTimeout(() => resolve(client.status === 'ready'), timeoutMs);
      });
      clearTimeout(timer);
      if (onReady) client.off('ready', onReady);
      return isReady;
    },
    ...(expect ? { warning: async () => memoryWarning(await client.info('memory').catch(() => ''), expect) } : {}),
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}

/** The warning INFO memory calls for, if any: a policy other than the expected one, or memory past the threshold. */
export function memoryWarning(info: string, expect: { readonly policy: string; readonly memoryWarnPercent: number }): string | undefined {
  const field = (key: string) => new RegExp(`^${key}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const policy = field('maxmemory_policy');
  if (policy !== undefined && policy !== expect.policy) return `maxmemory-policy is ${policy}, must be ${expect.policy}: keys may be evicted`;
  const used = Number(field('used_memory'));
  const max = Number(field('maxmemory'));
  // maxmemory 0 means no limit: nothing to be near.
  if (!(max > 0) || !Number.isFinite(used)) return undefined;
  const percent = Math.round((used / max) * 100);
  return percent >= expect.memoryWarnPercent ? `memory at ${percent}% of maxmemory (${max} bytes), warning from ${expect.memoryWarnPercent}%: writes are refused at 100%` : undefined;
}

/** The URL without its password, for logs. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(invalid url)';
  }
}
