import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryRateLimiter } from './memory-rate-limiter.ts';

test('allows the limit per fixed window and tells when the window frees up', async () => {
  let now = 10_000;
  const limiter = createMemoryRateLimiter(() => now);
  for (let i = 0; i < 3; i++) assert.equal((await limiter.consume('k', 3, 1000)).allowed, true);
  now += 400;
  const refused = await limiter.consume('k', 3, 1000);
  assert.deepEqual(refused, { allowed: false, remaining: 0, retryAfterMs: 600 });
  assert.equal((await limiter.consume('other', 3, 1000)).allowed, true, 'keys are counted apart');
  now += 600;
  assert.equal((await limiter.consume('k', 3, 1000)).allowed, true, 'a new window starts afresh');
});
