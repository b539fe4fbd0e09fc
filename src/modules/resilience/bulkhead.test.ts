import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../../kernel/errors.ts';
import { createBulkhead } from './bulkhead.ts';

test('grants up to maxConcurrent slots at once, then queues, then refuses with CONNECTOR_SATURATED', async () => {
  const bulkhead = createBulkhead({ connector: 'c', maxConcurrent: 2, maxQueue: 1, maxWaitMs: 1000 });
  const first = await bulkhead.acquire();
  await bulkhead.acquire();
  const queued = bulkhead.acquire();
  assert.equal(bulkhead.queued, 1);
  await assert.rejects(bulkhead.acquire(), (err: unknown) => isAppError(err) && err.code === 'CONNECTOR_SATURATED');
  assert.equal(bulkhead.rejected, 1);
  first();
  first(); // releasing twice frees one slot only
  await queued;
  assert.equal(bulkhead.inUse, 2);
  assert.equal(bulkhead.queued, 0);
});

test('a queued call gives up after maxWaitMs, not before', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const bulkhead = createBulkhead({ connector: 'c', maxConcurrent: 1, maxQueue: 5, maxWaitMs: 30 });
  await bulkhead.acquire();
  let settled = false;
  const waiting = bulkhead.acquire().finally(() => (settled = true));
  t.mock.timers.tick(29);
  await Promise.resolve();
  assert.equal(settled, false, 'gave up before maxWaitMs');
  assert.equal(bulkhead.queued, 1);
  t.mock.timers.tick(1);
  await assert.rejects(waiting, (err: unknown) => isAppError(err) && err.code === 'CONNECTOR_SATURATED');
  assert.equal(bulkhead.queued, 0);
});

test('a queued call leaves the queue when its caller aborts', async () => {
  const bulkhead = createBulkhead({ connector: 'c', maxConcurrent: 1, maxQueue: 5, maxWaitMs: 10_000 });
  await bulkhead.acquire();
  const controller = new AbortController();
  const waiting = bulkhead.acquire(controller.signal);
  controller.abort(new Error('gone'));
  await assert.rejects(waiting, /gone/);
  assert.equal(bulkhead.queued, 0);
});

test('a caller that aborts its wait lets go of its timer: it is not counted as rejected when maxWaitMs passes', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const bulkhead = createBulkhead({ connector: 'c', maxConcurrent: 1, maxQueue: 5, maxWaitMs: 10_000 });
  void bulkhead.acquire();
  const controller = new AbortController();
  const waiting = bulkhead.acquire(controller.signal).catch(() => undefined);
  controller.abort(new Error('gone'));
  t.mock.timers.tick(10_000);
  assert.equal(bulkhead.rejected, 0);
  await waiting;
});
