import type { CursorStore, LeaseStore } from '../../ports/lease-store.ts';
import { createExpiringMap } from './expiring-map.ts';

/** Leases and live groups within one process: every holder is of this node. */
export function createMemoryLeaseStore(options: { now?: () => number } = {}): LeaseStore {
  const now = options.now ?? Date.now;
  const leases = createExpiringMap<string>(now);
  /** Group → member → until. */
  const groups = new Map<string, Map<string, number>>();
  return {
    isUp: () => true,
    async acquire(key, holder, ttlMs) {
      const current = leases.get(key);
      if (current !== undefined && current !== holder) return false;
      leases.set(key, holder, ttlMs);
      return true;
    },
    async release(key, holder) {
      return leases.get(key) === holder && leases.delete(key);
    },
    holder: async (key) => leases.get(key),
    async heartbeat(group, member, ttlMs) {
      const members = groups.get(group) ?? new Map<string, number>();
      groups.set(group, members);
      const at = now();
      members.set(member, at + ttlMs);
      for (const [name, until] of members) if (until <= at) members.delete(name);
      return [...members.keys()].sort();
    },
    async leave(group, member) {
      groups.get(group)?.delete(member);
    },
  };
}

/** Cursors within one process. */
export function createMemoryCursorStore(): CursorStore {
  const cursors = new Map<string, string>();
  return {
    get: async (key) => cursors.get(key),
    async set(key, value) {
      cursors.set(key, value);
    },
  };
}
