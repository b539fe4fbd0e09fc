import type { DedupeStore } from '../../ports/dedupe-store.ts';
import { createExpiringMap } from './expiring-map.ts';

/** Marks within one process (the unit tier). */
export function createMemoryDedupeStore(options: { now?: () => number } = {}): DedupeStore {
  const marks = createExpiringMap<true>(options.now);
  return {
    isUp: () => true,
    has: async (key) => marks.get(key) === true,
    async mark(key, ttlMs) {
      marks.set(key, true, ttlMs);
    },
    hasMany: async (keys) => keys.map((key) => marks.get(key) === true),
    async markMany(keys, ttlMs) {
      for (const key of keys) marks.set(key, true, ttlMs);
    },
    async markFirst(key, ttlMs) {
      if (marks.get(key)) return false;
      marks.set(key, true, ttlMs);
      return true;
    },
  };
}
