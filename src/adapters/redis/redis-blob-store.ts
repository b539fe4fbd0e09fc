import type { BlobStore } from '../../ports/blob-store.ts';
import type { RedisHandle } from './redis-client.ts';

/** Blobs as binary string keys with a PX expiry (none without a lifetime); keys are the caller's, unchanged. */
export function createRedisBlobStore(redis: RedisHandle): BlobStore {
  const { client } = redis;
  return {
    async put(key, bytes, ttlMs) {
      if (ttlMs === undefined) await client.set(key, Buffer.from(bytes));
      else await client.set(key, Buffer.from(bytes), 'PX', ttlMs);
    },
    get: async (key) => (await client.getBuffer(key)) ?? undefined,
  };
}
