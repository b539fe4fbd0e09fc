import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { createMemorySharedBreakerStore } from '../../src/adapters/memory/memory-shared-breaker-store.ts';
import { createRedis, type RedisHandle } from '../../src/adapters/redis/redis-client.ts';
import { createRedisSharedBreakerStore } from '../../src/adapters/redis/redis-shared-breaker-store.ts';
import type { SharedBreakerStore } from '../../src/ports/shared-breaker-store.ts';
import { TEST_REDIS_CACHE_URL } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

// One suite, run against every adapter of the SharedBreakerStore port (the Redis one on the cache instance, as in the gateway).
let redis: RedisHandle | undefined;
const PREFIX = `omnigate:breaker:test-${process.pid}:`;
const adapters: Record<string, () => SharedBreakerStore> = {
  'in-memory': () => createMemorySharedBreakerStore(),
  redis: () => createRedisSharedBreakerStore(redis as RedisHandle, PREFIX),
};
before(async () => {
  redis = createRedis(TEST_REDIS_CACHE_URL, pino({ level: 'silent' }));
  await waitFor('the cache redis', () => redis?.isUp());
});
after(async () => {
  const keys = (await redis?.client.keys(`${PREFIX}*`)) ?? [];
  if (keys.length > 0) await redis?.client.del(...keys);
  await redis?.close();
});

const WINDOW_MS = 60_000;
const report = (key: string, nodeId: string, calls: number, failures: number) => ({ key, nodeId, calls, failures, windowMs: WINDOW_MS });
const byNode = (window: readonly { nodeId: string; calls: number; failures: number }[]) => Object.fromEntries(window.map((n) => [n.nodeId, [n.calls, n.failures]]));

for (const [name, make] of Object.entries(adapters)) {
  describe(`SharedBreakerStore conformance: ${name}`, () => {
    test('sums each node\'s reports over the window, keeps a node that reports nothing, and answers every breaker of one sync in order', async () => {
      const store = make();
      const [k1, k2] = [randomUUID(), randomUUID()];
      await store.sync([report(k1, 'a', 3, 1), report(k2, 'a', 1, 1)]);
      const [first, second] = await store.sync([report(k1, 'a', 2, 2), report(k2, 'b', 0, 0)]);
      assert.deepEqual(byNode(first!.window), { a: [5, 3] });
      assert.deepEqual(byNode(second!.window), { a: [1, 1], b: [0, 0] });
      assert.deepEqual(first!.state, { phase: 'closed', generation: 0, holdMs: 0 });
    });

    test('opens once for two nodes deciding at once (the generation), holds, and closes after a trial only one node may claim', async () => {
      const store = make();
      const key = randomUUID();
      const [x, y] = await Promise.all([store.open(key, 0, 60_000), store.open(key, 0, 60_000)]);
      assert.equal(x.generation, 1);
      assert.deepEqual(y, { ...x, holdMs: y.holdMs });
      assert.ok(x.holdMs > 59_000);
      assert.equal(await store.claimTrial(key, 1, 'a', 1_000), false, 'no trial while the cluster holds');
      const reopened = await store.open(key, 1, 0);
      assert.deepEqual([reopened.phase, reopened.generation, reopened.holdMs], ['open', 2, 0]);
      assert.equal(await store.claimTrial(key, 1, 'a', 1_000), false, 'a claim for an old generation');
      const claims = await Promise.all([store.claimTrial(key, 2, 'a', 1_000), store.claimTrial(key, 2, 'b', 1_000)]);
      assert.deepEqual(claims.sort(), [false, true]);
      await store.sync([report(key, 'a', 4, 4)]);
      assert.deepEqual(await store.close(key, 2), { phase: 'closed', generation: 3, holdMs: 0 });
      const [after] = await store.sync([report(key, 'b', 0, 0)]);
      assert.deepEqual(byNode(after!.window), { b: [0, 0] }, 'a close forgets the window');
      assert.equal((await store.close(key, 2)).generation, 3, 'a late close changes nothing');
    });

    test('a claim lapses after its time, so a node that died mid-trial does not hold the cluster', async () => {
      const store = make();
      const key = randomUUID();
      await store.open(key, 0, 0);
      assert.equal(await store.claimTrial(key, 1, 'a', 30), true);
      await waitFor('the claim to lapse', () => store.claimTrial(key, 1, 'b', 30));
    });
  });
}
