import type { DedupeStore } from '../../ports/dedupe-store.ts';
import type { RedisHandle } from './redis-client.ts';

/** One key per mark (`1`, with a PX expiry); keys are the caller's, unchanged. */
export function createRedisDedupeStore(redis: RedisHandle): DedupeStore {
  const { client } = redis;
  return {
    isUp: () => redis.isUp(),
    has: async (key) => (await client.exists(key)) === 1,
    async mark(key, ttlMs) {
      await client.set(key, '1', 'PX', ttlMs);
    },
    markFirst: async (key, ttlMs) => (await client.set(key, '1', 'PX', ttlMs, 'NX')) === 'OK',
  };
}
