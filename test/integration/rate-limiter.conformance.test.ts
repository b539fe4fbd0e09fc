import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { createMemoryRateLimiter } from '../../src/adapters/memory/memory-rate-limiter.ts';
import { createRedis, type RedisHandle } from '../../src/adapters/redis/redis-client.ts';
import { createRedisRateLimiter } from '../../src/adapters/redis/redis-rate-limiter.ts';
import type { Allowance, RateLimiter } from '../../src/ports/rate-limiter.ts';
import { TEST_REDIS_CACHE_URL } from '../support/ports.ts';

// One suite, run against every adapter of the RateLimiter port (the Redis one on the cache instance, as in the gateway).
let redis: RedisHandle | undefined;
const adapters: Record<string, () => RateLimiter> = {
  'in-memory': () => createMemoryRateLimiter(),
  redis: () => createRedisRateLimiter(redis as RedisHandle, { prefix: `omnigate:test:rl:${randomUUID()}:`, syncMs: 50 }),
};
before(async () => {
  redis = createRedis(TEST_REDIS_CACHE_URL, pino({ level: 'silent' }));
  for (let i = 0; i < 500 && !redis.isUp(); i++) await new Promise((r) => setTimeout(r, 10));
});
// Its buckets live a window (60 s) in the shared cache instance: removed here, so that a later test
// reading that instance (redis-durability's "every key is a cache key") does not meet them.
after(async () => {
  const keys = (await redis?.client.keys('omnigate:test:rl:*')) ?? [];
  if (keys.length > 0) await redis?.client.del(...keys);
  await redis?.close();
});

// A window long enough that a test never straddles two of them.
const WINDOW_MS = 60_000;

for (const [name, make] of Object.entries(adapters)) {
  describe(`RateLimiter conformance: ${name}`, () => {
    test('allows the limit in a window, counting down, then refuses with when the window frees up', async () => {
      const limiter = make();
      const key = randomUUID();
      const allowances = [];
      for (let i = 0; i < 4; i++) allowances.push(await limiter.consume(key, 3, WINDOW_MS));
      assert.deepEqual(allowances.map((a) => [a.allowed, a.remaining]), [[true, 2], [true, 1], [true, 0], [false, 0]]);
      const refused = allowances[3];
      assert.ok(refused && refused.retryAfterMs > 0 && refused.retryAfterMs <= WINDOW_MS, `retryAfterMs ${refused?.retryAfterMs}`);
      assert.equal((await limiter.consume(randomUUID(), 3, WINDOW_MS)).allowed, true, 'keys are counted apart');
    });

    test('counts calls made at once exactly: no more than the limit get through', async () => {
      const limiter = make();
      const key = randomUUID();
      const allowances = await Promise.all(Array.from({ length: 20 }, () => limiter.consume(key, 5, WINDOW_MS)));
      assert.equal(allowances.filter((a) => a.allowed).length, 5);
    });
  });
}

describe('rate limits shared by two nodes through Redis (decided locally, reconciled in batches)', () => {
  const SYNC_MS = 50;
  /** A RedisHandle whose client counts its EVALs (the limiter's only command). */
  const counting = () => {
    const handle = redis as RedisHandle;
    const counter = { evals: 0 };
    const client = new Proxy(handle.client, {
      get(target, prop, receiver) {
        if (prop === 'eval') counter.evals += 1;
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    return { handle: { ...handle, client, isUp: () => handle.isUp() } as RedisHandle, counter };
  };
  const nodes = (count: number) => {
    const prefix = `omnigate:test:rl:${randomUUID()}:`;
    return Array.from({ length: count }, () => {
      const { handle, counter } = counting();
      return { limiter: createRedisRateLimiter(handle, { prefix, syncMs: SYNC_MS }), counter };
    });
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const allowedOf = (answers: Allowance[]) => answers.filter((a) => a.allowed).length;

  test('counts exactly in Redis until the cluster rate is known: two nodes at once admit the limit, not more', async () => {
    const [a, b] = nodes(2);
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b)?.limiter.consume(key, 10, WINDOW_MS) as Promise<Allowance>));
    assert.equal(allowedOf(answers), 10);
    await Promise.all([a?.limiter.close(), b?.limiter.close()]);
  });

  test('far from the limit a node asks Redis nothing per request, only once per sync; near it, it asks per request', async () => {
    const [node] = nodes(1);
    assert.ok(node);
    const key = randomUUID();
    // Learn the rate: a few requests over two syncs.
    for (let i = 0; i < 3; i++) (await node.limiter.consume(key, 1_000, WINDOW_MS), await sleep(SYNC_MS));
    const before = node.counter.evals;
    const startedAt = Date.now();
    const answers = [];
    for (let i = 0; i < 500; i++) answers.push(await node.limiter.consume(key, 1_000_000, WINDOW_MS));
    const syncs = Math.ceil((Date.now() - startedAt) / SYNC_MS) + 1;
    assert.equal(allowedOf(answers), 500);
    assert.ok(node.counter.evals - before <= syncs, `${node.counter.evals - before} EVALs for 500 requests in ${syncs} sync intervals`);
    // A limit within reach of the current rate: the requests nearest it are counted in Redis, one each.
    const near = randomUUID();
    for (let i = 0; i < 3; i++) (await node.limiter.consume(near, 10, WINDOW_MS), await sleep(SYNC_MS));
    const beforeNear = node.counter.evals;
    const last = [];
    for (let i = 0; i < 7; i++) last.push(await node.limiter.consume(near, 10, WINDOW_MS));
    const nearEvals = node.counter.evals - beforeNear;
    assert.deepEqual(last.map((a) => a.allowed), Array(7).fill(true));
    assert.ok(nearEvals >= 2 && nearEvals < 7, `${nearEvals} EVALs for the 7 requests up to the limit: the last ones exactly, the first ones locally`);
    assert.equal((await node.limiter.consume(near, 10, WINDOW_MS)).allowed, false);
    await node.limiter.close();
  });

  test('two nodes at a steady pace decide mostly locally and admit the limit, over it by at most one sync interval of traffic', async () => {
    const [a, b] = nodes(2);
    assert.ok(a && b);
    const key = randomUUID();
    const LIMIT = 1_000;
    let admitted = 0;
    let requests = 0;
    const startedAt = Date.now();
    // Both nodes about one request per ms each, until both are refused.
    for (let round = 0; round < 5_000; round++) {
      const answers = await Promise.all([a.limiter.consume(key, LIMIT, WINDOW_MS), b.limiter.consume(key, LIMIT, WINDOW_MS)]);
      requests += 2;
      admitted += allowedOf(answers);
      if (answers.every((x) => !x.allowed)) break;
      await sleep(1);
    }
    const perMs = admitted / (Date.now() - startedAt);
    await Promise.all([a.limiter.sync(), b.limiter.sync()]);
    const [redisKey] = await keysOf(key);
    const total = Number(await (redis as RedisHandle).client.get(redisKey ?? ''));
    assert.ok(admitted >= LIMIT, `admitted ${admitted} of ${LIMIT}`);
    // The stated bound (docs/scaling.md): what the cluster admits in a sync interval and a round trip.
    const bound = Math.ceil(perMs * (SYNC_MS + 20));
    assert.ok(admitted - LIMIT <= bound, `admitted ${admitted} of ${LIMIT} at ${perMs.toFixed(2)}/ms: over by more than ${bound}`);
    assert.ok(total >= admitted, `Redis holds ${total}, the nodes admitted ${admitted}`);
    const evals = a.counter.evals + b.counter.evals;
    assert.ok(evals < requests / 2, `${evals} EVALs for ${requests} requests: not decided locally`);
    await Promise.all([a.limiter.close(), b.limiter.close()]);
  });

  test('however the load comes, two nodes never admit more than (nodes − 1) × limit over it', async () => {
    const [a, b] = nodes(2);
    assert.ok(a && b);
    const key = randomUUID();
    const LIMIT = 50;
    // Learn a slow rate, then burst from both nodes at once: the worst case for a local decision.
    for (let i = 0; i < 4; i++) (await a.limiter.consume(key, LIMIT, WINDOW_MS), await b.limiter.consume(key, LIMIT, WINDOW_MS), await sleep(SYNC_MS));
    const burst = await Promise.all(Array.from({ length: 400 }, (_, i) => (i % 2 ? a : b).limiter.consume(key, LIMIT, WINDOW_MS)));
    const admitted = 8 + allowedOf(burst);
    assert.ok(admitted >= LIMIT, `admitted ${admitted}`);
    assert.ok(admitted <= 2 * LIMIT, `admitted ${admitted}: past (nodes − 1) × limit over the limit`);
    await Promise.all([a.limiter.sync(), b.limiter.sync()]);
    assert.equal((await a.limiter.consume(key, LIMIT, WINDOW_MS)).allowed, false);
    assert.equal((await b.limiter.consume(key, LIMIT, WINDOW_MS)).allowed, false);
    await Promise.all([a.limiter.close(), b.limiter.close()]);
  });
});

const keysOf = (key: string) => (redis as RedisHandle).client.keys(`omnigate:test:rl:*:${key}:*`);
