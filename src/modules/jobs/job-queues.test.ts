import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { createMemoryJobBackend } from '../../adapters/memory/memory-job-backend.ts';
import { AppError, isAppError } from '../../kernel/errors.ts';
import { createMetrics } from '../observability/metrics.ts';
import { createJobQueues, type JobEnvelope, type JobQueues } from './job-queues.ts';
import type { JobView } from './job-view.ts';

// The real job module (retry policy, dead letters, views, timers) over the in-memory JobQueue adapter.
const backend = createMemoryJobBackend();
const opened: JobQueues[] = [];
after(async () => {
  for (const jobs of opened) await jobs.close(1_000);
  await backend.close();
});

interface Data extends JobEnvelope {
  readonly fail?: string;
  readonly writes?: boolean;
}
let runs: string[] = [];
/** Jobs whose cause of failure was fixed (for an admin retry). */
const healed = new Set<string>();

function setUp(queue: string) {
  const jobs = createJobQueues({ backend, log: pino({ level: 'silent' }), metrics: createMetrics(), attempts: 3, backoffMs: 1 });
  opened.push(jobs);
  const defined = jobs.define<Data>({
    queue, type: 'test.job', idPrefix: queue, writes: true,
    async process(job, _log, attempt) {
      runs.push(job.id);
      if (job.data.writes) attempt.writeStarted();
      if (job.data.fail && job.attemptsMade === 0 && !healed.has(job.id)) throw new AppError(job.data.fail as 'NOT_FOUND', 'it failed');
      return { ok: job.id };
    },
  });
  jobs.start();
  return { jobs, defined };
}
async function settled(jobs: JobQueues, id: string, state: JobView['state']): Promise<JobView> {
  for (let i = 0; i < 2_000; i++) {
    const found = await jobs.find(id);
    if (found?.view.state === state) return found.view;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`job ${id} never became ${state}`);
}

test('a retryable failure is retried with backoff and the job completes; its owner finds it', async () => {
  runs = [];
  const { jobs, defined } = setUp('qa');
  await defined.add('qa_1', { owner: 'acme', fail: 'UPSTREAM_UNAVAILABLE' });
  const done = await settled(jobs, 'qa_1', 'completed');
  assert.deepEqual({ attempts: done.attempts, result: done.result }, { attempts: 2, result: { ok: 'qa_1' } });
  assert.equal((await jobs.find('qa_1'))?.owner, 'acme');
  assert.equal(await jobs.find('qb_1'), undefined, 'an id of no queue');
});

test('a final failure dead-letters the job with its code; an admin retry runs it again, only when dead', async () => {
  runs = [];
  const { jobs, defined } = setUp('qc');
  await defined.add('qc_1', { owner: 'acme', fail: 'NOT_FOUND' });
  const dead = await settled(jobs, 'qc_1', 'dead');
  assert.deepEqual(dead.error, { code: 'NOT_FOUND', detail: 'it failed' });
  assert.deepEqual((await jobs.list({ state: 'failed', queue: 'qc', limit: 5 })).map((j) => j.id), ['qc_1']);
  healed.add('qc_1');
  await jobs.retry('qc_1');
  await settled(jobs, 'qc_1', 'completed');
  await assert.rejects(jobs.retry('qc_1'), (err: unknown) => isAppError(err) && err.code === 'JOB_NOT_DEAD');
  await assert.rejects(jobs.retry('qc_none'), (err: unknown) => isAppError(err) && err.code === 'NOT_FOUND');
});

test('a write that started and timed out is not retried (it may have happened); one that never started is', async () => {
  runs = [];
  const { jobs, defined } = setUp('qd');
  await defined.add('qd_1', { owner: 'acme', fail: 'UPSTREAM_TIMEOUT', writes: true });
  await defined.add('qd_2', { owner: 'acme', fail: 'UPSTREAM_TIMEOUT' });
  assert.equal((await settled(jobs, 'qd_1', 'dead')).attempts, 1);
  assert.equal((await settled(jobs, 'qd_2', 'completed')).attempts, 2);
});

test('a delayed job is a timer: it waits as delayed, and one cancelled never runs', async () => {
  runs = [];
  const { jobs, defined } = setUp('qe');
  assert.equal((await defined.add('qe_idle', { owner: 'chat' }, { delayMs: 30 })).state, 'delayed');
  await defined.add('qe_snooze', { owner: 'chat' }, { delayMs: 10 });
  assert.equal(await defined.cancel('qe_snooze'), true);
  await settled(jobs, 'qe_idle', 'completed');
  assert.deepEqual(runs, ['qe_idle']);
  assert.equal(await defined.cancel('qe_idle'), false, 'a timer that fired cannot be cancelled');
});
