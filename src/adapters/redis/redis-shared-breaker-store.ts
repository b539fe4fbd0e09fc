import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { WINDOW_BUCKETS, type BreakerSnapshot, type NodeCounts, type SharedBreakerState, type SharedBreakerStore } from '../../ports/shared-breaker-store.ts';
import type { RedisHandle } from './redis-client.ts';

const SCRIPT = readFileSync(new URL('./shared-breaker.lua', import.meta.url), 'utf8');
const COMMAND = 'omnigateSharedBreaker';

type Reply = [string, number, number, ...unknown[]];
type WithCommand = Redis & { [COMMAND](window: string, state: string, trial: string, ...args: (string | number)[]): Promise<unknown> };

/**
 * Breaker state shared by every node on one Redis (the cache instance: losing it only makes the
 * breakers per node again). One script (shared-breaker.lua) per operation, on three keys with
 * one hash tag per breaker, `omnigate:breaker:{<key>}:w|s|t`, so the layout works on Redis Cluster.
 * `sync` pipelines every breaker's script: one round trip per node per sync interval.
 */
export function createRedisSharedBreakerStore(redis: RedisHandle, prefix = 'omnigate:breaker:'): SharedBreakerStore {
  // ioredis sends EVALSHA and falls back to EVAL by itself, also inside a pipeline.
  if (!(COMMAND in redis.client)) redis.client.defineCommand(COMMAND, { numberOfKeys: 3, lua: SCRIPT });
  const client = redis.client as WithCommand;
  const keys = (key: string): [string, string, string] => {
    const base = `${prefix}{${key}}`;
    return [`${base}:w`, `${base}:s`, `${base}:t`];
  };
  return {
    isUp: () => redis.isUp(),
    async sync(reports) {
      if (reports.length === 0) return [];
      const pipeline = client.pipeline() as unknown as { [COMMAND](...args: (string | number)[]): unknown; exec(): Promise<[Error | null, unknown][] | null> };
      for (const r of reports) pipeline[COMMAND](...keys(r.key), 'sync', r.nodeId, r.calls, r.failures, r.windowMs, WINDOW_BUCKETS);
      const results = (await pipeline.exec()) ?? [];
      return results.map(([err, reply]): BreakerSnapshot => {
        if (err) throw err;
        const [phase, generation, hold, flat] = reply as [string, number, number, string[]];
        return { state: toState([phase, generation, hold]), window: toWindow(flat) };
      });
    },
    async open(key, generation, holdMs) {
      return toState((await client[COMMAND](...keys(key), 'open', generation, holdMs)) as Reply);
    },
    async claimTrial(key, generation, holder, ttlMs) {
      return Number(await client[COMMAND](...keys(key), 'claim', generation, holder, ttlMs)) === 1;
    },
    async close(key, generation) {
      return toState((await client[COMMAND](...keys(key), 'close', generation)) as Reply);
    },
  };
}

function toState(reply: Reply): SharedBreakerState {
  return { phase: reply[0] === 'open' ? 'open' : 'closed', generation: Number(reply[1]), holdMs: Number(reply[2]) };
}

/** `[node, kind, count, …]` summed per node over the window's buckets. */
function toWindow(flat: readonly string[]): NodeCounts[] {
  const nodes = new Map<string, { calls: number; failures: number }>();
  for (let i = 0; i + 2 < flat.length; i += 3) {
    const nodeId = flat[i] as string;
    const counts = nodes.get(nodeId) ?? { calls: 0, failures: 0 };
    if (flat[i + 1] === 'c') counts.calls += Number(flat[i + 2]);
    else counts.failures += Number(flat[i + 2]);
    nodes.set(nodeId, counts);
  }
  return [...nodes].map(([nodeId, c]) => ({ nodeId, ...c }));
}
