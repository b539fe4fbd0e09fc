import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from './logger.ts';
import { shutDown, shutdownDeadlineMs } from './shutdown.ts';

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

test('a stop that finishes exits 0, and the deadline is not left to fire later', async () => {
  const { lines, log } = logged();
  const exits: number[] = [];
  await shutDown({ stop: async () => undefined, exit: (code) => void exits.push(code), log, deadlineMs: 30 });
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(exits, [0]);
  assert.equal(lines.filter((l) => l.level === 50).length, 0);
});

test('a stop that fails exits 1 and logs why', async () => {
  const { lines, log } = logged();
  const exits: number[] = [];
  await shutDown({ stop: () => Promise.reject(new Error('workers stuck')), exit: (code) => void exits.push(code), log, deadlineMs: 30 });
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(exits, [1]);
  assert.ok(lines.some((l) => l.msg === 'shutdown failed'));
});

test('a stop that never finishes exits 1 at the deadline, saying so', async () => {
  const { lines, log } = logged();
  const exits: number[] = [];
  void shutDown({ stop: () => new Promise<void>(() => undefined), exit: (code) => void exits.push(code), log, deadlineMs: 30 });
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(exits, [1]);
  assert.ok(lines.some((l) => l.msg === 'shutdown did not finish in time: exiting anyway' && l.deadlineMs === 30));
});

test('the deadline leaves room for the drain and the running jobs, each bounded by the grace period', () => {
  assert.equal(shutdownDeadlineMs(10_000), 35_000);
  assert.equal(shutdownDeadlineMs(0), 15_000);
});
