import type { GuardedRecord, IdempotencyStore } from '../../ports/idempotency-store.ts';
import type { RedisHandle } from './redis-client.ts';

// Only the holder of a record (its token) may replace it or let it go: read and write in one step.
const REPLACE = `local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if cjson.decode(cur).token ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;
const RELEASE = `local cur = redis.call('GET', KEYS[1])
if cur and cjson.decode(cur).token == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Records as JSON strings with PX expiries; keys are the caller's, unchanged. */
export function createRedisIdempotencyStore(redis: RedisHandle): IdempotencyStore {
  const { client } = redis;
  return {
    isUp: () => redis.isUp(),
    async claim(key, record, ttlMs) {
      return (await client.set(key, JSON.stringify(record), 'PX', ttlMs, 'NX')) === 'OK';
    },
    async read<R extends GuardedRecord>(key: string) {
      const raw = await client.get(key);
      return raw === null ? undefined : (JSON.parse(raw) as R);
    },
    async replace(key, token, record, ttlMs) {
      return (await client.eval(REPLACE, 1, key, token, JSON.stringify(record), String(ttlMs))) === 1;
    },
    async release(key, token) {
      return (await client.eval(RELEASE, 1, key, token)) === 1;
    },
  };
}
