import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { createBullmqJobBackend } from '../../src/adapters/bullmq/bullmq-job-backend.ts';
import { createMemoryJobBackend, createMemoryJobStore } from '../../src/adapters/memory/memory-job-backend.ts';
import type { AddJobOptions, JobBackend, JobQueue, StoredJob } from '../../src/ports/job-queue.ts';
import { TEST_REDIS_URL } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

// One suite, run against every adapter of the JobQueue port. Each `make` opens a backend over the
// adapter's one store, so a second backend is the first one restarted.
const memoryStore = createMemoryJobStore();
const adapters: Record<string, () => JobBackend> = {
  'in-memory': () => createMemoryJobBackend({ store: memoryStore }),
  bullmq: () => createBullmqJobBackend({ redisUrl: TEST_REDIS_URL, log: pino({ level: 'silent' }), prefix: 'omnigate:test-bull' }),
};

const OPTIONS: AddJobOptions = { attempts: 3, backoffMs: 5, keepCompletedMs: 60_000, keepDeadMs: 60_000 };
const noRetry = () => undefined;

const WAIT = { timeoutMs: 10_000 };
const inStatus = <D>(queue: JobQueue<D>, id: string, status: StoredJob['status']) => waitFor(`job ${id} to be ${status}`, async () => {
  const job = await queue.get(id);
  return job?.status === status ? job : undefined;
}, WAIT);

for (const [name, make] of Object.entries(adapters)) {
  describe(`JobQueue conformance: ${name}`, () => {
    const open: JobBackend[] = [];
    const backend = () => {
      const made = make();
      open.push(made);
      return made;
    };
    const fresh = <D>() => backend().queue<D>(`conformance-${randomUUID()}`);
    after(async () => {
      for (const b of open.reverse()) await b.close();
    });

    test('runs an added job once and keeps what it returned', async () => {
      const queue = fresh<{ n: number }>();
      const runs: number[] = [];
      queue.work(async (job) => (runs.push(job.data.n), { doubled: job.data.n * 2 }), { concurrency: 2, retryDelay: noRetry });
      const added = await queue.add('j1', 'test.double', { n: 21 }, OPTIONS);
      assert.equal(added?.name, 'test.double');
      const done = await inStatus(queue, 'j1', 'completed');
      assert.deepEqual(done.result, { doubled: 42 });
      assert.equal(done.attemptsMade, 1);
      assert.ok(done.finishedAt !== undefined && done.finishedAt >= done.createdAt);
      assert.deepEqual(runs, [21]);
    });

    test('adding an id that is there keeps the first job and its data', async () => {
      const queue = fresh<{ n: number }>();
      await queue.add('same', 'test.once', { n: 1 }, OPTIONS);
      const again = await queue.add('same', 'test.once', { n: 2 }, OPTIONS);
      assert.deepEqual(again?.data, { n: 1 });
      assert.equal((await queue.counts()).waiting, 1);
    });

    test('retries a failed attempt after the delay retryDelay chose, then completes', async () => {
      const queue = fresh<null>();
      const asked: number[] = [];
      queue.work(
        async (job) => {
          if (job.attemptsMade < 2) throw new Error(`not yet ${job.attemptsMade}`);
          return 'ok';
        },
        { concurrency: 1, retryDelay: (job) => (asked.push(job.attemptsMade), 5) },
      );
      await queue.add('flaky', 'test.flaky', null, OPTIONS);
      const done = await inStatus(queue, 'flaky', 'completed');
      assert.equal(done.attemptsMade, 3);
      assert.deepEqual(asked, [0, 1]);
    });

    test('data an attempt updates is what the next attempt reads', async () => {
      const queue = fresh<{ marks: string[] }>();
      queue.work(async (job) => {
        if (job.data.marks.length === 0) {
          await job.updateData({ marks: ['first attempt'] });
          assert.deepEqual(job.data, { marks: ['first attempt'] });
          throw new Error('UPSTREAM_TIMEOUT: after the mark');
        }
        return job.data.marks;
      }, { concurrency: 1, retryDelay: () => 1 });
      await queue.add('marked', 'test.mark', { marks: [] }, OPTIONS);
      const done = await inStatus(queue, 'marked', 'completed');
      assert.deepEqual(done.result, ['first attempt']);
      assert.deepEqual(done.data, { marks: ['first attempt'] });
    });

    test('a failure retryDelay refuses to retry kills the job at once, with its reason', async () => {
      const queue = fresh<null>();
      let runs = 0;
      queue.work(async () => {
        runs += 1;
        throw new Error('VALIDATION_FAILED: never');
      }, { concurrency: 1, retryDelay: noRetry });
      await queue.add('doomed', 'test.doomed', null, OPTIONS);
      const dead = await inStatus(queue, 'doomed', 'dead');
      assert.equal(dead.failedReason, 'VALIDATION_FAILED: never');
      assert.equal(runs, 1);
      assert.deepEqual((await queue.list('dead', 10)).map((j) => j.id), ['doomed']);
    });

    test('a job dies once its attempts run out, and retry puts it back with all its attempts', async () => {
      const queue = fresh<null>();
      let failing = true;
      queue.work(async () => {
        if (failing) throw new Error('UPSTREAM_UNAVAILABLE: down');
        return 'up';
      }, { concurrency: 1, retryDelay: () => 1 });
      await queue.add('tired', 'test.tired', null, { ...OPTIONS, attempts: 2 });
      const dead = await inStatus(queue, 'tired', 'dead');
      assert.equal(dead.attemptsMade, 2);
      assert.equal(await queue.retry('missing'), false);
      failing = false;
      assert.equal(await queue.retry('tired'), true);
      const done = await inStatus(queue, 'tired', 'completed');
      assert.equal(done.attemptsMade, 1);
      assert.equal(await queue.retry('tired'), false, 'only a dead job can be retried');
    });

    test('a delayed job waits as delayed, and a cancelled one never runs', async () => {
      const queue = fresh<string>();
      const ran: string[] = [];
      queue.work(async (job) => void ran.push(job.data), { concurrency: 4, retryDelay: noRetry });
      await queue.add('later', 'test.timer', 'later', { ...OPTIONS, delayMs: 60 });
      await queue.add('cancelled', 'test.timer', 'cancelled', { ...OPTIONS, delayMs: 30 });
      assert.equal((await queue.get('later'))?.status, 'delayed');
      assert.equal(await queue.cancel('cancelled'), true);
      assert.equal(await queue.get('cancelled'), undefined);
      await inStatus(queue, 'later', 'completed');
      // The cancelled timer was due before the one that ran: had it survived, it would have run first.
      assert.deepEqual(ran, ['later']);
      assert.equal(await queue.cancel('later'), false, 'a job that ran cannot be cancelled');
      assert.equal(await queue.cancel('missing'), false);
    });

    test('jobs outlive the backend that added them: a restarted one runs them', async () => {
      const name = `conformance-${randomUUID()}`;
      const first = backend();
      await first.queue<string>(name).add('survivor', 'test.timer', 'snooze ends', { ...OPTIONS, delayMs: 20 });
      await first.queue<string>(name).add('waiting', 'test.now', 'now', OPTIONS);
      await first.close();
      const queue = backend().queue<string>(name);
      const ran: string[] = [];
      queue.work(async (job) => void ran.push(job.data), { concurrency: 1, retryDelay: noRetry });
      await inStatus(queue, 'survivor', 'completed');
      await inStatus(queue, 'waiting', 'completed');
      assert.deepEqual(ran.sort(), ['now', 'snooze ends']);
    });

    test('runs no more jobs at once than the concurrency, and counts them by status', async () => {
      const queue = fresh<number>();
      let running = 0;
      let most = 0;
      const gate = Promise.withResolvers<void>();
      queue.work(async () => {
        running += 1;
        most = Math.max(most, running);
        await gate.promise;
        running -= 1;
      }, { concurrency: 2, retryDelay: noRetry });
      for (let n = 0; n < 5; n++) await queue.add(`c${n}`, 'test.gate', n, OPTIONS);
      await waitFor('two jobs active', async () => (await queue.counts()).active === 2, WAIT);
      const counts = await queue.counts();
      assert.deepEqual({ active: counts.active, waiting: counts.waiting }, { active: 2, waiting: 3 });
      gate.resolve();
      await waitFor('all five jobs completed', async () => (await queue.counts()).completed === 5, WAIT);
      assert.equal(most, 2);
      assert.equal((await queue.list('completed', 3)).length, 3);
    });
  });
}
