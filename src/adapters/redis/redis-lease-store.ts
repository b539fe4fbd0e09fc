import type { CursorStore, LeaseStore } from '../../ports/lease-store.ts';
import type { RedisHandle } from './redis-client.ts';

/** Takes a free lease or extends our own; one key, so it works on a Redis Cluster too. */
const ACQUIRE = `local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;
/** A member's heartbeat (score: its expiry by Redis's clock); drops the expired; lists the live. */
const HEARTBEAT = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)`;

/** Leases as keys holding their holder (PX expiry); groups as sorted sets of expiries. */
export function createRedisLeaseStore(redis: RedisHandle): LeaseStore {
  const { client } = redis;
  return {
    isUp: () => redis.isUp(),
    acquire: async (key, holder, ttlMs) => (await client.eval(ACQUIRE, 1, key, holder, String(ttlMs))) === 1,
    release: async (key, holder) => (await client.eval(RELEASE, 1, key, holder)) === 1,
    holder: async (key) => (await client.get(key)) ?? undefined,
    heartbeat: async (group, member, ttlMs) => ((await client.eval(HEARTBEAT, 1, group, member, String(ttlMs))) as string[]).sort(),
    async leave(group, member) {
      await client.zrem(group, member);
    },
  };
}

/** Cursors as plain string keys, kept until overwritten. */
export function createRedisCursorStore(redis: RedisHandle): CursorStore {
  const { client } = redis;
  return {
    get: async (key) => (await client.get(key)) ?? undefined,
    async set(key, value) {
      await client.set(key, value);
    },
  };
}
