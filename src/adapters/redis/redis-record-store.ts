import type { RecordStore } from '../../ports/record-store.ts';
import type { RedisHandle } from './redis-client.ts';

// The limit is checked and the record stored with its index entries in one step, so two callers
// at once cannot both take the last place. KEYS: the collection, then the limited index first (when
// there is a limit: ARGV[2] >= 0), then the other indexes.
const INSERT = `
local max = tonumber(ARGV[2])
if max >= 0 and redis.call('SCARD', KEYS[2]) >= max then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
for i = 2, #KEYS do redis.call('SADD', KEYS[i], ARGV[1]) end
return 1`;
const DELETE = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
for i = 2, #KEYS do redis.call('SREM', KEYS[i], ARGV[1]) end
return 1`;

/** A collection is a hash (id → record); an index is a set of ids. */
export function createRedisRecordStore(redis: RedisHandle): RecordStore {
  const { client } = redis;
  return {
    isUp: () => redis.isUp(),
    async insert(collection, id, record, indexes, limit) {
      const rest = [...new Set(indexes)].filter((index) => index !== limit?.index);
      const keys = [collection, ...(limit ? [limit.index] : []), ...rest];
      return (await client.eval(INSERT, keys.length, ...keys, id, String(limit?.max ?? -1), record)) === 1;
    },
    async delete(collection, id, indexes) {
      const keys = [collection, ...new Set(indexes)];
      return (await client.eval(DELETE, keys.length, ...keys, id)) === 1;
    },
    get: async (collection, id) => (await client.hget(collection, id)) ?? undefined,
    getMany: async (collection, ids) => (ids.length === 0 ? [] : (await client.hmget(collection, ...ids)).filter((raw): raw is string => raw !== null)),
    listed: async (indexes) => (indexes.length === 0 ? [] : client.sunion(...indexes)),
    async reindex(collection, marker, indexesOf) {
      if ((await client.exists(marker)) === 1) return false;
      // Adding to a set twice changes nothing: a reindex cut off half way is simply run again.
      const entries = client.pipeline();
      for (const [id, record] of Object.entries(await client.hgetall(collection))) for (const index of indexesOf(record)) entries.sadd(index, id);
      const results = (await entries.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
      await client.set(marker, '1');
      return true;
    },
  };
}
