import { Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { AppError, isAppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { JOB_BACKOFF_TYPE, jobBackoff, toJobFailure } from './job-failure.ts';
import { jobStateOf, toJobView, type JobDetails, type JobState, type JobView } from './job-view.ts';

/** Key prefix of every queue in Redis (`omnigate:bull:<queue>:…`). */
export const JOB_KEY_PREFIX = 'omnigate:bull';
export const DEFAULT_JOB_CONCURRENCY = 8;
/** Completed jobs stay readable for a day (as long as an idempotency key holds). */
export const KEEP_COMPLETED_S = 24 * 60 * 60;
/** Dead jobs stay in the dead letters for a week. */
export const KEEP_DEAD_S = 7 * 24 * 60 * 60;
export const QUEUE_METRICS_INTERVAL_MS = 2_000;
/** An HTTP request waits this long for the queue's Redis before answering STORE_UNAVAILABLE. */
export const STORE_DEADLINE_MS = 2_000;

/** What every job carries besides its own input: who asked (only they may read it) and the trace. */
export interface JobEnvelope {
  readonly owner: string;
  readonly traceparent?: string;
}

/** One kind of job: its queue, how to run it, and what its view adds. */
export interface QueueDefinition<D extends JobEnvelope> {
  readonly queue: string;
  readonly type: string;
  /** Every id of this queue starts with `<idPrefix>_`, which is how GET /v1/jobs/{id} finds the queue. */
  readonly idPrefix: string;
  readonly concurrency?: number;
  /**
   * The job writes to a backend: an attempt that failed after `attempt.writeStarted()` with an
   * unknown outcome (a timeout …) is not retried.
   */
  readonly writes?: boolean;
  /** Runs one attempt. An AppError with a retryable code is retried with backoff; any other error is final. */
  process(job: Job<D>, log: Logger, attempt: JobAttempt): Promise<unknown>;
  details?(job: Job<D>): JobDetails;
}

/** What an attempt tells the queue about itself. */
export interface JobAttempt {
  /** The write is about to be sent: from now on a failure may leave its outcome unknown. */
  writeStarted(): void;
}

export interface JobQueue<D extends JobEnvelope> {
  /** Adds a job under `id`, once: adding an id that exists returns that job as it is. */
  add(id: string, data: D): Promise<JobView>;
}

export type JobListState = JobState | 'failed';

/** BullMQ queues on Redis: durable jobs with retries, backoff and dead letters. */
export interface JobQueues {
  define<D extends JobEnvelope>(definition: QueueDefinition<D>): JobQueue<D>;
  /** Starts the workers of every defined queue (after the connectors are loaded). */
  start(): void;
  /** A job and who owns it; undefined when there is no such job. */
  find(id: string): Promise<{ view: JobView; owner: string } | undefined>;
  /** Newest first; `failed` is BullMQ's name for `dead`. */
  list(filter: { state: JobListState; queue?: string; limit: number }): Promise<JobView[]>;
  /** Puts a dead job back to waiting with all its attempts. NOT_FOUND, or JOB_NOT_DEAD. */
  retry(id: string): Promise<JobView>;
  /** Stops taking jobs, waits for running ones (up to `timeoutMs`), then closes queues and connections. */
  close(timeoutMs: number): Promise<void>;
}

export interface JobQueuesDeps {
  readonly redisUrl: string;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly attempts: number;
  readonly backoffMs: number;
  /** A running job's lock (renewed while it runs); a job whose worker died is stalled and run again once it lapses. */
  readonly lockMs?: number;
}

interface Defined {
  readonly definition: QueueDefinition<JobEnvelope>;
  readonly queue: Queue;
  worker?: Worker;
}

const LIST_STATES = { waiting: ['waiting', 'prioritized', 'waiting-children', 'paused'], active: ['active'], delayed: ['delayed'], completed: ['completed'], dead: ['failed'], failed: ['failed'] } as const;
const COUNTED = ['waiting', 'prioritized', 'waiting-children', 'paused', 'active', 'delayed', 'completed', 'failed'] as const;

export function createJobQueues(deps: JobQueuesDeps): JobQueues {
  const log = deps.log.child({ module: 'jobs' });
  // BullMQ gets its own connections, not the gateway's fail-fast client: workers block on Redis
  // and must wait out an outage (maxRetriesPerRequest null). Producers refuse at once while it is
  // away (no offline queue), so that a request can answer STORE_UNAVAILABLE instead of hanging.
  const retryStrategy = (times: number) => Math.min(times * 200, 2_000);
  const producer = new Redis(deps.redisUrl, { maxRetriesPerRequest: null, enableOfflineQueue: false, connectTimeout: 1_000, retryStrategy });
  const consumer = new Redis(deps.redisUrl, { maxRetriesPerRequest: null, connectTimeout: 1_000, retryStrategy });
  const quietly = throttled(log);
  for (const client of [producer, consumer]) client.on('error', (err: Error) => quietly('redis', err));

  const defined = new Map<string, Defined>();
  const running = new Set<Promise<unknown>>();
  let timer: NodeJS.Timeout | undefined;

  /** A Redis round trip of an HTTP request: bounded, and STORE_UNAVAILABLE when Redis is away. */
  async function stored<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (producer.status !== 'ready') throw new AppError('STORE_UNAVAILABLE', `the job store (Redis) is unavailable: cannot ${what}`);
    let timeout: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timeout = setTimeout(() => reject(new AppError('STORE_UNAVAILABLE', `the job store (Redis) did not answer in ${STORE_DEADLINE_MS} ms: cannot ${what}`)), STORE_DEADLINE_MS);
    });
    try {
      return await Promise.race([work(), deadline]);
    } catch (err) {
      if (isAppError(err)) throw err;
      log.warn({ err, what }, 'job store failed');
      throw new AppError('STORE_UNAVAILABLE', `the job store (Redis) failed: cannot ${what}`, {}, { cause: err });
    } finally {
      clearTimeout(timeout);
    }
  }

  const byId = (id: string): Defined | undefined => [...defined.values()].find((d) => id.startsWith(`${d.definition.idPrefix}_`));

  async function viewOf(entry: Defined, job: Job, knownState?: JobState): Promise<JobView | undefined> {
    const state = knownState ?? jobStateOf(await job.getState());
    if (state === undefined) return undefined;
    // The job was read before its state: if it finished in between, read it again so that the
    // view is one moment's (state completed, finishedAt and result set).
    const current = !knownState && (state === 'completed' || state === 'dead') && !job.finishedOn ? ((await Job.fromId(entry.queue, job.id ?? '')) ?? job) : job;
    return toJobView(current, entry.definition.queue, entry.definition.type, state, entry.definition.details?.(current) ?? {});
  }

  async function load(id: string): Promise<{ entry: Defined; job: Job } | undefined> {
    const entry = byId(id);
    const job = entry ? await stored('read the job', () => entry.queue.getJob(id)) : undefined;
    return entry && job ? { entry, job } : undefined;
  }

  async function recordDepths(): Promise<void> {
    if (producer.status !== 'ready') return;
    for (const { definition, queue } of defined.values()) {
      const counts = await queue.getJobCounts(...COUNTED);
      const n = (state: string) => counts[state] ?? 0;
      const depths: Record<JobState, number> = {
        waiting: n('waiting') + n('prioritized') + n('waiting-children') + n('paused'),
        active: n('active'),
        delayed: n('delayed'),
        completed: n('completed'),
        dead: n('failed'),
      };
      for (const [state, value] of Object.entries(depths)) deps.metrics.queueDepth.set({ queue: definition.queue, state }, value);
    }
  }

  function startWorker(entry: Defined): Worker {
    const { definition } = entry;
    const worker = new Worker(
      definition.queue,
      (job: Job<JobEnvelope>) => {
        const jobLog = log.child({ queue: definition.queue, jobId: job.id, attempt: job.attemptsStarted });
        let isWriteStarted = false;
        const attempt = definition.process(job, jobLog, { writeStarted: () => (isWriteStarted = true) }).catch((err: unknown) => {
          const failure = toJobFailure(err, { write: definition.writes === true && isWriteStarted });
          if (!isAppError(err)) jobLog.error({ err }, 'job failed unexpectedly');
          throw failure;
        });
        running.add(attempt);
        void attempt.catch(() => undefined).finally(() => running.delete(attempt));
        return attempt;
      },
      {
        connection: consumer,
        prefix: JOB_KEY_PREFIX,
        concurrency: definition.concurrency ?? DEFAULT_JOB_CONCURRENCY,
        ...(deps.lockMs === undefined ? {} : { lockDuration: deps.lockMs, stalledInterval: deps.lockMs }),
        settings: {
          backoffStrategy: (attemptsMade, _type, err, job) =>
            jobBackoff(attemptsMade, job?.opts.backoff && typeof job.opts.backoff === 'object' ? (job.opts.backoff.delay ?? deps.backoffMs) : deps.backoffMs, (err as { retryAfterMs?: number } | undefined)?.retryAfterMs),
        },
      },
    );
    worker.on('error', (err) => quietly(`worker ${definition.queue}`, err));
    worker.on('completed', (job) => log.info({ queue: definition.queue, jobId: job.id, attempts: job.attemptsMade }, 'job completed'));
    worker.on('failed', (job, err) => {
      if (!job) return;
      const isFinal = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
      const fields = { queue: definition.queue, jobId: job.id, attempts: job.attemptsMade, reason: err.message };
      if (isFinal) log.warn(fields, 'job dead-lettered');
      else log.info(fields, 'job attempt failed: retrying with backoff');
    });
    return worker;
  }

  return {
    define<D extends JobEnvelope>(definition: QueueDefinition<D>): JobQueue<D> {
      const queue = new Queue(definition.queue, { connection: producer, prefix: JOB_KEY_PREFIX });
      queue.on('error', (err) => quietly(`queue ${definition.queue}`, err));
      const entry: Defined = { definition: definition as unknown as QueueDefinition<JobEnvelope>, queue };
      defined.set(definition.queue, entry);
      return {
        async add(id, data) {
          if (!id.startsWith(`${definition.idPrefix}_`) || id.includes(':')) throw new Error(`job id ${id} does not fit queue ${definition.queue}`);
          return stored('queue the job', async () => {
            await queue.add(definition.type, data, {
              jobId: id,
              attempts: deps.attempts,
              backoff: { type: JOB_BACKOFF_TYPE, delay: deps.backoffMs },
              removeOnComplete: { age: KEEP_COMPLETED_S },
              removeOnFail: { age: KEEP_DEAD_S },
            });
            // An id that was there already keeps its job: show that one, not the data just offered.
            const job = await queue.getJob(id);
            const view = job ? await viewOf(entry, job) : undefined;
            if (!view) throw new AppError('STORE_UNAVAILABLE', `job ${id} was queued but cannot be read back`);
            return view;
          });
        },
      };
    },

    start() {
      for (const entry of defined.values()) entry.worker ??= startWorker(entry);
      timer = setInterval(() => void recordDepths().catch((err: unknown) => quietly('queue metrics', err)), QUEUE_METRICS_INTERVAL_MS);
      timer.unref();
    },

    async find(id) {
      const found = await load(id);
      const view = found ? await stored('read the job', () => viewOf(found.entry, found.job)) : undefined;
      return found && view ? { view, owner: String((found.job.data as JobEnvelope).owner) } : undefined;
    },

    async list({ state, queue, limit }) {
      const entries = [...defined.values()].filter((d) => queue === undefined || d.definition.queue === queue);
      const views: JobView[] = [];
      for (const entry of entries) {
        for (const type of LIST_STATES[state]) {
          const jobs = await stored('list jobs', () => entry.queue.getJobs([type], 0, limit - 1, false));
          for (const job of jobs) {
            const shown = jobStateOf(type);
            const view = shown && job ? await viewOf(entry, job as Job, shown) : undefined;
            if (view) views.push(view);
          }
        }
      }
      const at = (v: JobView) => v.finishedAt ?? v.createdAt;
      return views.sort((a, b) => at(b).localeCompare(at(a))).slice(0, limit);
    },

    async retry(id) {
      const found = await load(id);
      if (!found) throw new AppError('NOT_FOUND', `no job ${id}`);
      const state = jobStateOf(await stored('read the job', () => found.job.getState()));
      if (state !== 'dead') throw new AppError('JOB_NOT_DEAD', `job ${id} is ${state ?? 'gone'}, not dead: only a dead job can be retried`);
      await stored('retry the job', () => found.job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true }));
      log.info({ queue: found.entry.definition.queue, jobId: id }, 'dead job retried');
      const again = await load(id);
      const view = again ? await stored('read the job', () => viewOf(again.entry, again.job)) : undefined;
      if (!view) throw new AppError('NOT_FOUND', `no job ${id}`);
      return view;
    },

    async close(timeoutMs) {
      clearInterval(timer);
      const workers = [...defined.values()].flatMap((d) => (d.worker ? [d.worker] : []));
      // Take no new job; let the running ones finish, within the bound. A job cut off is taken up
      // again by a worker of another node (or this one, after a restart) once its lock expires.
      await Promise.all(workers.map((w) => w.pause(true)));
      if ((await within(Promise.allSettled([...running]), timeoutMs)) === 'timeout') {
        log.warn({ running: running.size, timeoutMs }, 'jobs still running at shutdown: they will be taken up again');
      }
      await within(Promise.allSettled(workers.map((w) => w.close(true))), 2_000);
      await within(Promise.allSettled([...defined.values()].map((d) => d.queue.close())), 2_000);
      producer.disconnect();
      consumer.disconnect();
      log.info('job workers and queues closed');
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
