import { hash } from 'node:crypto';
import { jsonTextOf } from '../../kernel/json-text.ts';
import type { CacheEntry, StaleCache } from '../../ports/cache.ts';
import type { RedisHandle } from './redis-client.ts';

/** How many keys this node remembers what it stored (the hot ones stay: oldest first out). */
const REMEMBERED_KEYS = 10_000;

/**
 * Last good answers in Redis, with a TTL; misses and dropped writes while Redis is away.
 *
 * A hot read stores the same answer over and over: this node remembers a digest of what it stored
 * under each key and skips the write while the answer is identical and was stored less than
 * `rewriteMs` ago. So `storedAt` (a stale answer's age) may be up to `rewriteMs` older than the
 * last time the backend gave that answer.
 */
export function createRedisStaleCache(redis: RedisHandle, options: { readonly rewriteMs: number; readonly prefix?: string }): StaleCache {
  const { rewriteMs, prefix = 'omnigate:stale:' } = options;
  const stored = new Map<string, { digest: string; at: number }>();
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
      // The connector's answer comes as JSON text from its worker: stored as it came.
      const json = jsonTextOf(value);
      const digest = hash('sha1', json, 'base64');
      const now = Date.now();
      const last = stored.get(key);
      if (last && last.digest === digest && now - last.at < Math.min(rewriteMs, ttlMs / 2)) return;
      try {
        await redis.client.set(`${prefix}${key}`, `{"value":${json},"storedAt":${now}}`, 'PX', ttlMs);
        stored.delete(key);
        stored.set(key, { digest, at: now });
        if (stored.size > REMEMBERED_KEYS) stored.delete(stored.keys().next().value as string);
      } catch {
        // best effort: a lost cache write only means no stale answer later
        stored.delete(key);
      }
    },
  };
}
