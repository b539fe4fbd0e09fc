import type { CacheEntry, StaleCache } from '../../ports/cache.ts';
import type { RedisHandle } from './redis-client.ts';

/** Last good answers in Redis, with a TTL; misses and dropped writes while Redis is away. */
export function createRedisStaleCache(redis: RedisHandle, prefix = 'omnigate:stale:'): StaleCache {
  return {
    async get<T>(key: string): Promise<CacheEntry<T> | undefined> {
      if (!redis.isUp()) return undefined;
      try {
        const raw = await redis.client.get(`${prefix}${key}`);
        return raw === null ? undefined : (JSON.parse(raw) as CacheEntry<T>);
      } catch {
        return undefined;
      }
    },
    async set(key, value, ttlMs) {
      if (!redis.isUp()) return;
      try {
        await redis.client.set(`${prefix}${key}`, JSON.stringify({ value, storedAt: Date.now() }), 'PX', ttlMs);
      } catch {
        // best effort: a lost cache write only means no stale answer later
      }
    },
  };
}
