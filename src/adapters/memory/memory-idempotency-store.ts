import type { GuardedRecord, IdempotencyStore } from '../../ports/idempotency-store.ts';
import { createExpiringMap } from './expiring-map.ts';

/** Idempotency records within one process (the unit tier). */
export function createMemoryIdempotencyStore(options: { now?: () => number } = {}): IdempotencyStore {
  // Kept as JSON, as Redis keeps them: a caller never shares an object with the store.
  const records = createExpiringMap<string>(options.now);
  const tokenOf = (key: string) => {
    const raw = records.get(key);
    return raw === undefined ? undefined : (JSON.parse(raw) as GuardedRecord).token;
  };
  return {
    isUp: () => true,
    async claim(key, record, ttlMs) {
      if (records.get(key) !== undefined) return false;
      records.set(key, JSON.stringify(record), ttlMs);
      return true;
    },
    async read<R extends GuardedRecord>(key: string) {
      const raw = records.get(key);
      return raw === undefined ? undefined : (JSON.parse(raw) as R);
    },
    async replace(key, token, record, ttlMs) {
      if (tokenOf(key) !== token) return false;
      records.set(key, JSON.stringify(record), ttlMs);
      return true;
    },
    async release(key, token) {
      return tokenOf(key) === token && records.delete(key);
    },
  };
}
