import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { createMemoryRateLimiter } from '../../src/adapters/memory/memory-rate-limiter.ts';
import { createRedis, type RedisHandle } from '../../src/adapters/redis/redis-client.ts';
import { createRedisRateLimiter } from '../../src/adapters/redis/redis-rate-limiter.ts';
import type { RateLimiter } from '../../src/ports/rate-limiter.ts';
import { TEST_REDIS_CACHE_URL } from '../support/ports.ts';

// One suite, run against every adapter of the RateLimiter port (the Redis one on the cache instance, as in the gateway).
let redis: RedisHandle | undefined;
const adapters: Record<string, () => RateLimiter> = {
  'in-memory': () => createMemoryRateLimiter(),
  redis: () => createRedisRateLimiter(redis as RedisHandle, `omnigate:test:rl:${randomUUID()}:`),
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
