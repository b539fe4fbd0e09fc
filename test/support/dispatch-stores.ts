import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { createRedisDispatchStore, type RedisDispatchStoreDeps } from '../../src/adapters/redis/redis-dispatch-store.ts';
import type { DispatchAgent, DispatchStore, RankedEntry } from '../../src/ports/dispatch-store.ts';
import { TEST_REDIS_CLUSTER_NODES, TEST_REDIS_URL } from './ports.ts';
import { waitFor } from './wait.ts';

/** A connection of its own to the test Redis or the test Redis Cluster. */
export interface DispatchConnection {
  readonly client: Redis | Cluster;
  close(): Promise<void>;
}

/** The two Redis deployments the DispatchStore conformance suite runs against. */
export const DISPATCH_TARGETS: Record<string, () => Promise<DispatchConnection>> = {
  redis: async () => {
    const client = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    await waitFor('the test Redis', () => client.status === 'ready', { timeoutMs: 10_000 });
    return { client, close: async () => void (await client.quit()) };
  },
  'redis cluster': async () => {
    const client = new Cluster(TEST_REDIS_CLUSTER_NODES, { enableOfflineQueue: true });
    await waitFor('the test Redis Cluster', () => client.status === 'ready', { timeoutMs: 10_000 });
    return { client, close: async () => void (await client.quit()) };
  },
};

/** A prefix of its own (same hash tag as production), so tests sharing the Redis never meet. */
export const testDispatchPrefix = () => `omnigate:dispatch:{od}:test-${randomUUID()}`;

export function dispatchStoreOn(connection: DispatchConnection, prefix: string, options: Partial<RedisDispatchStoreDeps> = {}): DispatchStore {
  return createRedisDispatchStore({ client: connection.client, prefix, ...options });
}

export const dispatchAgent = (agentId: string, extra: Partial<DispatchAgent> = {}): DispatchAgent => ({
  agentId, groups: ['sales'], skills: [], languages: ['en'], maxConcurrent: 3, status: 'online', ...extra,
});

export const rankedEntry = (conversationId: string, rank: number, extra: Partial<RankedEntry> = {}): RankedEntry => ({
  conversationId, group: 'sales', priority: 0, enqueuedAtMs: rank, skills: [], rank, ...extra,
});
