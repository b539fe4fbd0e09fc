import { Job, Queue, UnrecoverableError, Worker, type JobType } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../../kernel/logger.ts';
import type { JobBackend, JobQueue, JobStatus, JobWorker, RunningJob, StoredJob } from '../../ports/job-queue.ts';

/** The backoff type jobs are added with: BullMQ then asks the worker's strategy, which asks the port's retryDelay. */
const BACKOFF_TYPE = 'omnigate';
/** BullMQ's states behind each of the port's. */
const STATES: Record<JobStatus, readonly JobType[]> = {
  waiting: ['waiting', 'prioritized', 'waiting-children', 'paused'],
  active: ['active'],
  delayed: ['delayed'],
  completed: ['completed'],
  dead: ['failed'],
};
const statusOf = (state: string): JobStatus | undefined => (Object.keys(STATES) as JobStatus[]).find((s) => (STATES[s] as readonly string[]).includes(state));
/** How long closing waits for BullMQ's workers and queues, each. */
const CLOSE_TIMEOUT_MS = 2_000;

export interface BullmqJobBackendOptions {
  readonly redisUrl: string;
  readonly log: Logger;
  /** Key prefix of every queue in Redis (`<prefix>:<queue>:…`). */
  readonly prefix: string;
}

/** A failed attempt that will be retried, carrying the wait the port's retryDelay chose. */
class RetryLater extends Error {
  readonly retryDelayMs: number;
  constructor(message: string, retryDelayMs: number) {
    super(message);
    this.retryDelayMs = retryDelayMs;
  }
}

function toStored<D>(job: Job, queue: string, status: JobStatus): StoredJob<D> {
  const backoff = job.opts.backoff;
  return {
    id: String(job.id),
    queue,
    name: job.name,
    data: job.data as D,
    status,
    attemptsStarted: job.attemptsStarted ?? 0,
    attemptsMade: job.attemptsMade ?? 0,
    maxAttempts: job.opts.attempts ?? 1,
    backoffMs: typeof backoff === 'object' ? (backoff.delay ?? 0) : (backoff ?? 0),
    createdAt: job.timestamp,
    ...(job.finishedOn && (status === 'completed' || status === 'dead') ? { finishedAt: job.finishedOn } : {}),
    ...(status === 'completed' && job.returnvalue !== null && job.returnvalue !== undefined ? { result: job.returnvalue as unknown } : {}),
    ...(job.failedReason ? { failedReason: job.failedReason } : {}),
  };
}

/**
 * Durable queues in Redis with BullMQ. Producers and workers have connections of their own:
 * workers block on Redis and wait out an outage (maxRetriesPerRequest null), while producers refuse
 * at once while it is away (no offline queue), so that a request can answer instead of hanging.
 */
export function createBullmqJobBackend(options: BullmqJobBackendOptions): JobBackend {
  const log = options.log.child({ module: 'jobs', store: 'bullmq' });
  const retryStrategy = (times: number) => Math.min(times * 200, 2_000);
  const producer = new Redis(options.redisUrl, { maxRetriesPerRequest: null, enableOfflineQueue: false, connectTimeout: 1_000, retryStrategy });
  const consumer = new Redis(options.redisUrl, { maxRetriesPerRequest: null, connectTimeout: 1_000, retryStrategy });
  const quietly = throttled(log);
  for (const client of [producer, consumer]) client.on('error', (err: Error) => quietly('redis', err));
  const queues = new Map<string, { port: JobQueue<unknown>; queue: Queue; workers: Set<Worker> }>();

  function open<D>(name: string): JobQueue<D> {
    const queue = new Queue(name, { connection: producer, prefix: options.prefix });
    queue.on('error', (err) => quietly(`queue ${name}`, err));
    const workers = new Set<Worker>();

    async function read(id: string, knownStatus?: JobStatus): Promise<StoredJob<D> | undefined> {
      const job = await queue.getJob(id);
      if (!job) return undefined;
      const status = knownStatus ?? statusOf(await job.getState());
      if (status === undefined) return undefined;
      // Read before its state: if it ended in between, read it again, so that it is one moment's.
      const current = (status === 'completed' || status === 'dead') && !job.finishedOn ? ((await Job.fromId(queue, id)) ?? job) : job;
      return toStored<D>(current, name, status);
    }

    const port: JobQueue<D> = {
      name,
      async add(id, jobName, data, opts) {
        await queue.add(jobName, data, {
          jobId: id,
          attempts: opts.attempts,
          backoff: { type: BACKOFF_TYPE, delay: opts.backoffMs },
          ...(opts.delayMs ? { delay: opts.delayMs } : {}),
          removeOnComplete: { age: Math.ceil(opts.keepCompletedMs / 1_000) },
          removeOnFail: { age: Math.ceil(opts.keepDeadMs / 1_000) },
        });
        // An id that was there already keeps its job: answer that one, not the data just offered.
        return read(id);
      },
      get: (id) => read(id),
      async list(status, limit) {
        const found: StoredJob<D>[] = [];
        for (const state of STATES[status]) {
          const jobs = (await queue.getJobs([state], 0, limit - 1, false)) as (Job | undefined)[];
          for (const job of jobs) if (job) found.push(toStored<D>(job, name, status));
        }
        const at = (job: StoredJob<D>) => job.finishedAt ?? job.createdAt;
        return found.sort((a, b) => at(b) - at(a)).slice(0, limit);
      },
      async counts() {
        const counts = await queue.getJobCounts(...Object.values(STATES).flat());
        const sum = (status: JobStatus) => STATES[status].reduce((n, state) => n + (counts[state] ?? 0), 0);
        return { waiting: sum('waiting'), active: sum('active'), delayed: sum('delayed'), completed: sum('completed'), dead: sum('dead') };
      },
      async cancel(id) {
        const job = await queue.getJob(id);
        const status = job ? statusOf(await job.getState()) : undefined;
        if (status !== 'waiting' && status !== 'delayed') return false;
        // A job taken by a worker meanwhile is locked: BullMQ does not remove it (0).
        return (await queue.remove(id)) === 1;
      },
      async retry(id) {
        const job = await queue.getJob(id);
        if (!job || (await job.getState()) !== 'failed') return false;
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        return true;
      },
      work(handler, work): JobWorker {
        const worker = new Worker(
          name,
          async (job: Job) => {
            // BullMQ's updateData sets job.data too: `data` reads it through.
            const stored: RunningJob<D> = { ...toStored<D>(job, name, 'active'), stalls: job.stalledCounter ?? 0, get data() { return job.data as D; }, updateData: (data) => job.updateData(data) };
            try {
              return await handler(stored);
            } catch (err) {
              const message = err instanceof Error ? err.message : String(err);
              const delay = work.retryDelay(stored, err);
              throw delay === undefined ? new UnrecoverableError(message) : new RetryLater(message, delay);
            }
          },
          {
            connection: consumer,
            prefix: options.prefix,
            concurrency: work.concurrency,
            // BullMQ fails a job that stalled more often than this without running it: one more
            // than the handler's limit, so the handler sees the job that reached it (and hands it
            // over, say), and BullMQ is the backstop should that run stall too.
            maxStalledCount: (work.maxStalls ?? 1) + 1,
            ...(work.lockMs === undefined ? {} : { lockDuration: work.lockMs, stalledInterval: work.lockMs }),
            settings: { backoffStrategy: (_attemptsMade, _type, err) => (err instanceof RetryLater ? err.retryDelayMs : 0) },
          },
        );
        worker.on('error', (err) => quietly(`worker ${name}`, err));
        workers.add(worker);
        return {
          stop: () => worker.pause(true),
          async close() {
            workers.delete(worker);
            await worker.close(true);
          },
        };
      },
    };
    queues.set(name, { port: port as JobQueue<unknown>, queue, workers });
    return port;
  }

  return {
    queue: <D>(name: string) => (queues.get(name)?.port as JobQueue<D> | undefined) ?? open<D>(name),
    isUp: () => producer.status === 'ready',
    async close() {
      const all = [...queues.values()];
      await within(Promise.allSettled(all.flatMap((q) => [...q.workers].map((w) => w.close(true)))), CLOSE_TIMEOUT_MS);
      await within(Promise.allSettled(all.map((q) => q.queue.close())), CLOSE_TIMEOUT_MS);
      producer.disconnect();
      consumer.disconnect();
    },
  };
}

const within = <T>(work: Promise<T>, ms: number): Promise<T | 'timeout'> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
};

/** Connection errors repeat every retry while Redis is away: one warning per source every 30 s. */
function throttled(log: Logger): (source: string, err: unknown) => void {
  const last = new Map<string, number>();
  return (source, err) => {
    const now = Date.now();
    if (now - (last.get(source) ?? 0) < 30_000) return log.debug({ source, err }, 'job store error');
    last.set(source, now);
    log.warn({ source, err }, 'job store error');
  };
}
