import type { DedupeStore } from '../../ports/dedupe-store.ts';
import type { RedisHandle } from './redis-client.ts';

/** Sets every key of KEYS to 1 for ARGV[1] ms. */
const MARK_MANY = `for _, key in ipairs(KEYS) do redis.call('SET', key, '1', 'PX', ARGV[1]) end`;
const MARK_MANY_COMMAND = 'omnigateDedupeMarkMany';
type WithMarkMany = { [MARK_MANY_COMMAND](...args: (string | number)[]): Promise<unknown> };

/** One key per mark (`1`, with a PX expiry); keys are the caller's, unchanged. */
export function createRedisDedupeStore(redis: RedisHandle): DedupeStore {
  const { client } = redis;
  if (!(MARK_MANY_COMMAND in client)) client.defineCommand(MARK_MANY_COMMAND, { lua: MARK_MANY });
  return {
    isUp: () => redis.isUp(),
    has: async (key) => (await client.exists(key)) === 1,
    async mark(key, ttlMs) {
      await client.set(key, '1', 'PX', ttlMs);
    },
    // One command each however many keys: MGET, and a script that sets every mark.
    hasMany: async (keys) => (keys.length === 0 ? [] : (await client.mget(...keys)).map((value) => value !== null)),
    async markMany(keys, ttlMs) {
      if (keys.length > 0) await (client as unknown as WithMarkMany)[MARK_MANY_COMMAND](keys.length, ...keys, ttlMs);
    },
    markFirst: async (key, ttlMs) => (await client.set(key, '1', 'PX', ttlMs, 'NX')) === 'OK',
  };
}
