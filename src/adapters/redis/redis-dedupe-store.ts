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
    async hasMany(keys) {
      if (keys.length === 0) return [];
      const pipeline = client.pipeline();
      for (const key of keys) pipeline.exists(key);
      return (await pipeline.exec() ?? []).map(([err, n]) => {
        if (err) throw err;
        return n === 1;
      });
    },
    async markMany(keys, ttlMs) {
      if (keys.length === 0) return;
      const pipeline = client.pipeline();
      for (const key of keys) pipeline.set(key, '1', 'PX', ttlMs);
      const failed = (await pipeline.exec())?.find(([err]) => err);
      if (failed) throw failed[0];
    },
    markFirst: async (key, ttlMs) => (await client.set(key, '1', 'PX', ttlMs, 'NX')) === 'OK',
  };
}
