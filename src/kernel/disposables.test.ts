import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createDisposables } from './disposables.ts';
import { createLogger } from './logger.ts';

function logged(): { lines: Record<string, unknown>[]; log: ReturnType<typeof createLogger> } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: createLogger({ level: 'info' }, sink) };
}

test('closes the parts last registered first, each once however often it is disposed', async () => {
  const closed: string[] = [];
  const disposables = createDisposables(logged().log);
  for (const name of ['redis', 'registry', 'jobs', 'events', 'server']) disposables.defer(name, async () => void closed.push(name));
  await Promise.all([disposables.dispose(), disposables.dispose()]);
  await disposables.dispose();
  assert.deepEqual(closed, ['server', 'events', 'jobs', 'registry', 'redis']);
});

test('a part that fails to close is logged by name, the parts below it still close, and dispose rejects with its error', async () => {
  const { lines, log } = logged();
  const closed: string[] = [];
  const disposables = createDisposables(log);
  disposables.defer('redis', () => void closed.push('redis'));
  disposables.defer('jobs', () => {
    throw new Error('workers stuck');
  });
  disposables.defer('server', () => void closed.push('server'));
  await assert.rejects(disposables.dispose(), /workers stuck/);
  assert.deepEqual(closed, ['server', 'redis']);
  assert.ok(lines.some((l) => l.msg === 'could not close a part at shutdown' && l.part === 'jobs'));
});

test('a part slow to close is named in a warning while it is still closing, and the others wait for it', async () => {
  const { lines, log } = logged();
  const closed: string[] = [];
  const disposables = createDisposables(log, 20);
  disposables.defer('redis', () => void closed.push('redis'));
  let finish!: () => void;
  disposables.defer('events', () => new Promise<void>((resolve) => (finish = resolve)));
  const disposing = disposables.dispose();
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(lines.filter((l) => l.msg === 'a part is slow to close at shutdown').map((l) => l.part), ['events']);
  assert.deepEqual(closed, [], 'nothing below it closed yet');
  finish();
  await disposing;
  assert.deepEqual(closed, ['redis']);
});
