import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from './logger.ts';
import { shutDown, shutdownDeadlineMs } from './shutdown.ts';

/** A logger whose lines land in `lines` (pino takes any object with a `write`); `settled()` flushes its batch first. */
function logged(): { lines: Record<string, unknown>[]; log: ReturnType<typeof createLogger>; settled(): Promise<Record<string, unknown>[]> } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { lines, log, settled: () => new Promise((resolve) => log.flush(() => resolve(lines))) };
}

/** Waits until the exit was called (a deadline fires later than asked on a loaded machine, never sooner). */
async function exitCalled(exits: number[]): Promise<void> {
  for (let i = 0; i < 500 && exits.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
}

test('a stop that finishes exits 0, and the deadline is not left to fire later', async () => {
  const { log, settled } = logged();
  const exits: number[] = [];
  await shutDown({ stop: async () => undefined, exit: (code) => void exits.push(code), log, deadlineMs: 30 });
  // Past the deadline: had it been left running, it would have exited again.
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(exits, [0]);
  assert.equal((await settled()).filter((l) => l.level === 50).length, 0);
});

test('a stop that fails exits 1 and logs why', async () => {
  const { log, settled } = logged();
  const exits: number[] = [];
  await shutDown({ stop: () => Promise.reject(new Error('workers stuck')), exit: (code) => void exits.push(code), log, deadlineMs: 30 });
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(exits, [1]);
  assert.ok((await settled()).some((l) => l.msg === 'shutdown failed'));
});

test('a stop that never finishes exits 1 at the deadline, saying so', async () => {
  const { log, settled } = logged();
  const exits: number[] = [];
  void shutDown({ stop: () => new Promise<void>(() => undefined), exit: (code) => void exits.push(code), log, deadlineMs: 30 });
  await exitCalled(exits);
  assert.deepEqual(exits, [1]);
  assert.ok((await settled()).some((l) => l.msg === 'shutdown did not finish in time: exiting anyway' && l.deadlineMs === 30));
});

test('the deadline leaves room for the drain and the running jobs, each bounded by the grace period', () => {
  assert.equal(shutdownDeadlineMs(10_000), 35_000);
  assert.equal(shutdownDeadlineMs(0), 15_000);
});
