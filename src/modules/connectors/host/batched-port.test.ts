import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { batchedPost, eachMessage, type Batch } from './batched-port.ts';

const turn = () => new Promise((resolve) => setImmediate(resolve));

test('messages sent in one turn of the loop go in one post, in order; a lone one goes as itself', async () => {
  const posted: (number | Batch<number>)[] = [];
  const out = batchedPost<number>((m) => posted.push(m));
  out.send(1);
  out.send(2);
  out.send(3);
  assert.deepEqual(posted, [], 'nothing is posted before the turn ends');
  await turn();
  out.send(4);
  await turn();
  assert.deepEqual(posted, [{ type: 'batch', messages: [1, 2, 3] }, 4]);
});

test('flush posts what waits at once, and the turn\'s end then posts nothing twice', async () => {
  const posted: (number | Batch<number>)[] = [];
  const out = batchedPost<number>((m) => posted.push(m));
  out.send(1);
  out.flush();
  await turn();
  assert.deepEqual(posted, [1]);
});

test('across a real port, the other side handles each message once, in the order sent', async () => {
  const { port1, port2 } = new MessageChannel();
  const got: { id: number }[] = [];
  const done = new Promise<void>((resolve) =>
    port2.on('message', (m: { id: number } | Batch<{ id: number }>) =>
      eachMessage(m, (one) => {
        got.push(one);
        if (got.length === 5) resolve();
      }),
    ),
  );
  const out = batchedPost<{ id: number }>((m) => port1.postMessage(m));
  for (let id = 1; id <= 3; id++) out.send({ id });
  await turn();
  out.send({ id: 4 });
  out.send({ id: 5 });
  await done;
  port1.close();
  assert.deepEqual(got.map((m) => m.id), [1, 2, 3, 4, 5]);
});
