import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { createRedis, type RedisHandle } from '../../src/adapters/redis/redis-client.ts';
import { createRedisStaleCache } from '../../src/adapters/redis/redis-stale-cache.ts';
import { TEST_REDIS_CACHE_URL } from '../support/ports.ts';

// The Redis stale cache on the test run's cache instance, as the gateway uses it.
let redis: RedisHandle;
const prefix = `omnigate:stale:test-${randomUUID()}:`;
before(async () => {
  redis = createRedis(TEST_REDIS_CACHE_URL, pino({ level: 'silent' }), { name: 'redis-cache' });
  assert.ok(await redis.ready(5_000), 'the cache Redis is up');
});
after(async () => {
  const keys = await redis.client.keys(`${prefix}*`);
  if (keys.length > 0) await redis.client.del(...keys);
  await redis.close();
});

/** The handle with its client's SETs counted. */
function countingSets(): { handle: RedisHandle; sets: () => number } {
  let sets = 0;
  const client = new Proxy(redis.client, {
    get(target, prop, receiver) {
      if (prop === 'set') sets += 1;
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { handle: { ...redis, client, isUp: () => redis.isUp() } as RedisHandle, sets: () => sets };
}

test('a hot read that answers the same again is not written again until rewriteMs; a changed answer is written at once', async () => {
  const { handle, sets } = countingSets();
  const REWRITE_MS = 300;
  const cache = createRedisStaleCache(handle, { prefix, rewriteMs: REWRITE_MS });
  const order = { id: 'ORD-1', status: 'shipped', lines: [{ sku: 'A', qty: 2 }] };
  await cache.set('order:1', order, 60_000);
  const first = await cache.get<typeof order>('order:1');
  assert.deepEqual(first?.value, order);
  for (let i = 0; i < 50; i++) await cache.set('order:1', { ...order }, 60_000);
  assert.equal(sets(), 1, 'fifty identical answers, one write');
  assert.equal((await cache.get('order:1'))?.storedAt, first?.storedAt);

  const changed = { ...order, status: 'delivered' };
  await cache.set('order:1', changed, 60_000);
  assert.equal(sets(), 2);
  assert.deepEqual((await cache.get('order:1'))?.value, changed);

  // Past rewriteMs the same answer is stored again, so a stale answer's age stays within it.
  await new Promise((r) => setTimeout(r, REWRITE_MS + 50));
  await cache.set('order:1', changed, 60_000);
  assert.equal(sets(), 3);
  const rewritten = await cache.get('order:1');
  assert.ok(rewritten && Date.now() - rewritten.storedAt < REWRITE_MS, 'storedAt is fresh again');
  // Keys are remembered apart.
  await cache.set('order:2', order, 60_000);
  assert.equal(sets(), 4);
});

test('with rewriteMs 0 every answer is written, identical or not', async () => {
  const { handle, sets } = countingSets();
  const cache = createRedisStaleCache(handle, { prefix, rewriteMs: 0 });
  const order = { id: 'ORD-3', status: 'shipped' };
  for (let i = 0; i < 3; i++) await cache.set('order:3', { ...order }, 60_000);
  assert.equal(sets(), 3);
});
