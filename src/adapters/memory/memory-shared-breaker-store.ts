import { WINDOW_BUCKETS, type NodeCounts, type SharedBreakerState, type SharedBreakerStore } from '../../ports/shared-breaker-store.ts';

interface Entry {
  phase: 'closed' | 'open';
  generation: number;
  until: number;
  /** `<bucket>|<node>` → counts. */
  window: Map<string, { bucket: number; nodeId: string; calls: number; failures: number }>;
  trial?: { holder: string; until: number };
}

/**
 * The shared breaker state of one process: a gateway alone (breakers per node), or several
 * nodes of a test in one process. Same rules as the Redis store, on this process's clock.
 */
export function createMemorySharedBreakerStore(now: () => number = Date.now): SharedBreakerStore {
  const entries = new Map<string, Entry>();
  const entry = (key: string): Entry => {
    let found = entries.get(key);
    if (!found) entries.set(key, (found = { phase: 'closed', generation: 0, until: 0, window: new Map() }));
    return found;
  };
  const state = (e: Entry): SharedBreakerState => ({ phase: e.phase, generation: e.generation, holdMs: e.phase === 'open' ? Math.max(0, e.until - now()) : 0 });
  return {
    isUp: () => true,
    async sync(reports) {
      return reports.map((r) => {
        const e = entry(r.key);
        const bucket = Math.floor(now() / Math.max(1, Math.floor(r.windowMs / WINDOW_BUCKETS)));
        const cell = e.window.get(`${bucket}|${r.nodeId}`) ?? { bucket, nodeId: r.nodeId, calls: 0, failures: 0 };
        cell.calls += r.calls;
        cell.failures += r.failures;
        e.window.set(`${bucket}|${r.nodeId}`, cell);
        const nodes = new Map<string, NodeCounts>();
        for (const [field, c] of e.window) {
          if (c.bucket <= bucket - WINDOW_BUCKETS) {
            e.window.delete(field);
            continue;
          }
          const sum = nodes.get(c.nodeId) ?? { nodeId: c.nodeId, calls: 0, failures: 0 };
          nodes.set(c.nodeId, { nodeId: c.nodeId, calls: sum.calls + c.calls, failures: sum.failures + c.failures });
        }
        return { state: state(e), window: [...nodes.values()] };
      });
    },
    async open(key, generation, holdMs) {
      const e = entry(key);
      if (e.generation === generation) {
        Object.assign(e, { phase: 'open', generation: generation + 1, until: now() + holdMs });
        delete e.trial;
      }
      return state(e);
    },
    async claimTrial(key, generation, holder, ttlMs) {
      const e = entry(key);
      const s = state(e);
      if (s.phase !== 'open' || s.generation !== generation || s.holdMs > 0) return false;
      if (e.trial && e.trial.until > now()) return false;
      e.trial = { holder, until: now() + ttlMs };
      return true;
    },
    async close(key, generation) {
      const e = entry(key);
      if (e.phase === 'open' && e.generation === generation) {
        Object.assign(e, { phase: 'closed', generation: generation + 1, until: now() });
        delete e.trial;
        e.window.clear();
      }
      return state(e);
    },
  };
}
