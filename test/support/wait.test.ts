import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from './wait.ts';

test('resolves with the first truthy answer, polling past undefined, null and false', async () => {
  const answers = [undefined, null, false, { n: 1 }, { n: 2 }];
  let calls = 0;
  const value = await waitFor('the fourth answer', () => answers[calls++], { intervalMs: 1 });
  assert.deepEqual(value, { n: 1 });
  assert.equal(calls, 4);
});

test('waits for an async probe', async () => {
  let calls = 0;
  assert.equal(await waitFor('three calls', async () => ++calls === 3, { intervalMs: 1 }), true);
});

test('rejects once the time-out has passed, naming what it waited for and the detail', async () => {
  await assert.rejects(waitFor('a condition that never holds', () => false, { timeoutMs: 30, intervalMs: 5, detail: () => 'last answer: 42' }), {
    message: 'timed out after 30 ms waiting for a condition that never holds\nlast answer: 42',
  });
});

test('fails at once on a thrown probe, unless told to retry it', async () => {
  let calls = 0;
  const flaky = () => {
    if (++calls < 3) throw new Error('not listening yet');
    return 'up';
  };
  await assert.rejects(waitFor('a flaky probe', flaky, { intervalMs: 1 }), /not listening yet/);
  assert.equal(calls, 1);
  calls = 0;
  assert.equal(await waitFor('a flaky probe', flaky, { intervalMs: 1, retryOnError: true }), 'up');
  assert.equal(calls, 3);
});
