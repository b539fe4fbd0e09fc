import type { BlobStore } from '../../ports/blob-store.ts';
import { createExpiringMap } from './expiring-map.ts';

/** Blobs within one process (the unit tier). */
export function createMemoryBlobStore(options: { now?: () => number } = {}): BlobStore {
  const blobs = createExpiringMap<Buffer>(options.now);
  return {
    async put(key, bytes, ttlMs) {
      // A copy: the caller may reuse its buffer.
      blobs.set(key, Buffer.from(bytes), ttlMs);
    },
    get: async (key) => {
      const found = blobs.get(key);
      return found === undefined ? undefined : Buffer.from(found);
    },
  };
}
