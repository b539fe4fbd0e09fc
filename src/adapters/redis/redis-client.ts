import { Redis } from 'ioredis';
import type { Logger } from '../../kernel/logger.ts';
import type { StoreHealth } from '../../ports/cache.ts';

export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 200;

export interface RedisHandle extends StoreHealth {
  readonly client: Redis;
  close(): Promise<void>;
}

/**
 * One ioredis client for the gateway's hot state. Commands fail fast while Redis is away (no
 * offline queue, a short command timeout) so that callers can degrade instead of hanging; the
 * client keeps reconnecting with backoff and says so in the log.
 */
export function createRedis(url: string, log: Logger, commandTimeoutMs = DEFAULT_REDIS_COMMAND_TIMEOUT_MS): RedisHandle {
  const redisLog = log.child({ module: 'redis' });
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 1_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    lazyConnect: false,
  });
  let up = false;
  client.on('ready', () => {
    if (!up) redisLog.info({ url: redactUrl(url) }, 'redis connected');
    up = true;
  });
  client.on('end', () => (up = false));
  client.on('close', () => {
    if (up) redisLog.warn({ url: redactUrl(url) }, 'redis connection lost: degrading to no cache and per-node limits');
    up = false;
  });
  client.on('error', (err: Error) => redisLog.debug({ err }, 'redis error'));
  return {
    name: 'redis',
    client,
    isUp: () => up && client.status === 'ready',
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
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
