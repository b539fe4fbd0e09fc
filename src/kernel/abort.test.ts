import assert from 'node:assert/strict';
import { test } from 'node:test';
import { untilAborted } from './abort.ts';

test('settles with the work when it finishes first', async () => {
  assert.equal(await untilAborted(Promise.resolve(7), new AbortController().signal), 7);
  await assert.rejects(untilAborted(Promise.reject(new Error('no')), new AbortController().signal), /no/);
});

test('rejects at the abort even if the work never settles, with the mapped reason', async () => {
  const controller = new AbortController();
  const pending = untilAborted(new Promise(() => {}), controller.signal, (reason) => new Error(`stopped: ${String(reason)}`));
  controller.abort('deadline');
  await assert.rejects(pending, /stopped: deadline/);
});

test('leaves no unhandled rejection when the work fails after the abort', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const controller = new AbortController();
    controller.abort('early');
    let fail!: (err: Error) => void;
    const work = new Promise((_, reject) => (fail = reject));
    await assert.rejects(untilAborted(work, controller.signal));
    fail(new Error('late'));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
