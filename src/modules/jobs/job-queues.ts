import { AppError, isAppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import { withRemoteParent } from '../../kernel/telemetry.ts';
import type { JobBackend, JobQueue as StoreQueue, JobStatus, JobWorker, RunningJob, StoredJob } from '../../ports/job-queue.ts';
import type { Metrics } from '../observability/metrics.ts';
import { JobFailure, jobBackoff, toJobFailure } from './job-failure.ts';
import { toJobView, type JobDetails, type JobState, type JobView } from './job-view.ts';

/** Key prefix of every queue in Redis (`omnigate:bull:<queue>:…`); the composition root gives it to the BullMQ adapter. */
export const JOB_KEY_PREFIX = 'omnigate:bull';
export const DEFAULT_JOB_CONCURRENCY = 8;
/** Completed jobs stay readable for a day (as long as an idempotency key holds). */
export const KEEP_COMPLETED_S = 24 * 60 * 60;
/** Dead jobs stay in the dead letters for a week. */
export const KEEP_DEAD_S = 7 * 24 * 60 * 60;
export const QUEUE_METRICS_INTERVAL_MS = 2_000;
/** An HTTP request waits this long for the job store before answering STORE_UNAVAILABLE. */
export const STORE_DEADLINE_MS = 2_000;
/**
 * A job whose worker died while running it (a crash, a kill, a loop that blocked past its lock)
 * is run again; once that has happened more often than this, the job is not run again: it may be
 * what kills its workers. It goes to the dead letters, after its queue's `stalledOut`.
 */
export const MAX_JOB_STALLS = 1;

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
  /**
   * Attempts and base backoff of this queue's jobs, when they differ from every queue's default
   * (a job that must outlast a backend's outage of minutes takes more).
   */
  readonly attempts?: number;
  readonly backoffMs?: number;
  /** Runs one attempt. An AppError with a retryable code is retried with backoff; any other error is final. */
  process(job: RunningJob<D>, log: Logger, attempt: JobAttempt): Promise<unknown>;
  /**
   * Runs instead of an attempt when the job's workers died while running it more than
   * MAX_JOB_STALLS times (the bot hands its conversation over to a person). The job is then dead
   * whatever this does; if it throws, that is logged.
   */
  stalledOut?(job: RunningJob<D>, log: Logger): Promise<void>;
  details?(job: StoredJob<D>): JobDetails;
}

/** What an attempt tells the queue about itself. */
export interface JobAttempt {
  /** The write is about to be sent: from now on a failure may leave its outcome unknown. */
  writeStarted(): void;
}

export interface JobQueue<D extends JobEnvelope> {
  /**
   * Adds a job under `id`, once: adding an id that exists returns that job as it is. With
   * `delayMs` it is a timer (a visitor idle, an agent silent, a snooze that ends): it runs no sooner.
   */
  add(id: string, data: D, options?: { readonly delayMs?: number }): Promise<JobView>;
  /** Cancels a job that has not begun (a timer that is no longer wanted): false when it ran, runs or is gone. */
  cancel(id: string): Promise<boolean>;
}

export type JobListState = JobState | 'failed';

/** Durable jobs (the JobQueue port: BullMQ on Redis in the gateway) with retries, backoff and dead letters. */
export interface JobQueues {
  define<D extends JobEnvelope>(definition: QueueDefinition<D>): JobQueue<D>;
  /** Starts the workers of every defined queue (after the connectors are loaded). */
  start(): void;
  /** A job and who owns it; undefined when there is no such job. */
  find(id: string): Promise<{ view: JobView; owner: string } | undefined>;
  /** Newest first; `failed` is another name for `dead`. */
  list(filter: { state: JobListState; queue?: string; limit: number }): Promise<JobView[]>;
  /** Puts a dead job back to waiting with all its attempts. NOT_FOUND, or JOB_NOT_DEAD. */
  retry(id: string): Promise<JobView>;
  /** Stops taking jobs and waits for running ones (up to `timeoutMs`); the backend is closed by its owner. */
  close(timeoutMs: number): Promise<void>;
}

export interface JobQueuesDeps {
  readonly backend: JobBackend;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly attempts: number;
  readonly backoffMs: number;
  /** A running job's lock (renewed while it runs); a job whose worker died is stalled and run again once it lapses. */
  readonly lockMs?: number;
}

interface Defined {
  readonly definition: QueueDefinition<JobEnvelope>;
  readonly queue: StoreQueue<JobEnvelope>;
  worker?: JobWorker;
}

export function createJobQueues(deps: JobQueuesDeps): JobQueues {
  const log = deps.log.child({ module: 'jobs' });
  const defined = new Map<string, Defined>();
  const running = new Set<Promise<unknown>>();
  let timer: NodeJS.Timeout | undefined;

  /** A store round trip of an HTTP request: bounded, and STORE_UNAVAILABLE when the store is away. */
  async function stored<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (!deps.backend.isUp()) throw new AppError('STORE_UNAVAILABLE', `the job store (Redis) is unavailable: cannot ${what}`);
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
  const viewOf = ({ definition }: Defined, job: StoredJob<JobEnvelope>): JobView => toJobView(job, definition.queue, definition.type, definition.details?.(job) ?? {});

  async function load(id: string): Promise<{ entry: Defined; job: StoredJob<JobEnvelope> } | undefined> {
    const entry = byId(id);
    const job = entry ? await stored('read the job', () => entry.queue.get(id)) : undefined;
    return entry && job ? { entry, job } : undefined;
  }

  async function recordDepths(): Promise<void> {
    if (!deps.backend.isUp()) return;
    for (const { definition, queue } of defined.values()) {
      for (const [state, value] of Object.entries(await queue.counts())) deps.metrics.queueDepth.set({ queue: definition.queue, state }, value);
    }
  }

  /** One attempt: logged, tracked for a graceful close, and its failure turned into the retry decision. */
  async function attemptOf({ definition }: Defined, job: RunningJob<JobEnvelope>): Promise<unknown> {
    const jobLog = log.child({ queue: definition.queue, jobId: job.id, attempt: job.attemptsStarted });
    if (job.stalls > MAX_JOB_STALLS) return stalledOut(definition, job, jobLog);
    let isWriteStarted = false;
    const run = () => definition.process(job, jobLog, { writeStarted: () => (isWriteStarted = true) });
    // A job that carries the trace of what queued it (a request, a chat message) continues it: a
    // CONSUMER span per attempt, parent of the calls the job makes.
    const traced = job.data.traceparent === undefined ? run() : withRemoteParent(job.data.traceparent, `job ${definition.type}`, { 'omnigate.job.queue': definition.queue, 'omnigate.job.id': job.id, 'omnigate.job.attempt': job.attemptsStarted }, run);
    const attempt = traced.catch((err: unknown) => {
      const failure = toJobFailure(err, { write: definition.writes === true && isWriteStarted });
      if (!isAppError(err)) jobLog.error({ err }, 'job failed unexpectedly');
      throw failure;
    });
    running.add(attempt);
    void attempt.catch(() => undefined).finally(() => running.delete(attempt));
    const attempts = job.attemptsMade + 1;
    try {
      const result = await attempt;
      log.info({ queue: definition.queue, jobId: job.id, attempts }, 'job completed');
      return result;
    } catch (failure) {
      const isFinal = (failure instanceof JobFailure && failure.isFinal) || attempts >= job.maxAttempts;
      const fields = { queue: definition.queue, jobId: job.id, attempts, reason: (failure as Error).message };
      if (isFinal) log.warn(fields, 'job dead-lettered');
      else log.info(fields, 'job attempt failed: retrying with backoff');
      throw failure;
    }
  }

  /** A job that stalled too often: its queue's last word, then the dead letters (retryable by hand). */
  async function stalledOut(definition: QueueDefinition<JobEnvelope>, job: RunningJob<JobEnvelope>, jobLog: Logger): Promise<never> {
    const reason = `its worker stopped while running it ${job.stalls} times (a crash, a kill, or a loop blocked past the job's lock): it is not run again`;
    jobLog.warn({ queue: definition.queue, jobId: job.id, stalls: job.stalls }, 'job stalled out: dead-lettered');
    await definition.stalledOut?.(job, jobLog).catch((err: unknown) => jobLog.error({ err }, 'the queue\'s stalled-out step failed'));
    throw new JobFailure(`INTERNAL: ${reason}`, { isFinal: true });
  }

  const startWorker = (entry: Defined): JobWorker =>
    entry.queue.work((job) => attemptOf(entry, job), {
      concurrency: entry.definition.concurrency ?? DEFAULT_JOB_CONCURRENCY,
      maxStalls: MAX_JOB_STALLS,
      ...(deps.lockMs === undefined ? {} : { lockMs: deps.lockMs }),
      retryDelay: (job, failure) => (failure instanceof JobFailure && !failure.isFinal ? jobBackoff(job.attemptsMade + 1, job.backoffMs, failure.retryAfterMs) : undefined),
    });

  return {
    define<D extends JobEnvelope>(definition: QueueDefinition<D>): JobQueue<D> {
      const queue = deps.backend.queue<D>(definition.queue);
      const entry: Defined = { definition: definition as unknown as QueueDefinition<JobEnvelope>, queue: queue as unknown as StoreQueue<JobEnvelope> };
      defined.set(definition.queue, entry);
      return {
        async add(id, data, options = {}) {
          if (!id.startsWith(`${definition.idPrefix}_`) || id.includes(':')) throw new Error(`job id ${id} does not fit queue ${definition.queue}`);
          return stored('queue the job', async () => {
            const kept = { attempts: definition.attempts ?? deps.attempts, backoffMs: definition.backoffMs ?? deps.backoffMs, keepCompletedMs: KEEP_COMPLETED_S * 1_000, keepDeadMs: KEEP_DEAD_S * 1_000 };
            // An id that was there already keeps its job: show that one, not the data just offered.
            const job = await queue.add(id, definition.type, data, options.delayMs ? { ...kept, delayMs: options.delayMs } : kept);
            if (!job) throw new AppError('STORE_UNAVAILABLE', `job ${id} was queued but cannot be read back`);
            return viewOf(entry, job as unknown as StoredJob<JobEnvelope>);
          });
        },
        cancel: (id) => stored('cancel the job', () => queue.cancel(id)),
      };
    },

    start() {
      for (const entry of defined.values()) entry.worker ??= startWorker(entry);
      timer = setInterval(() => void recordDepths().catch((err: unknown) => log.debug({ err }, 'queue metrics failed')), QUEUE_METRICS_INTERVAL_MS);
      timer.unref();
    },

    async find(id) {
      const found = await load(id);
      return found ? { view: viewOf(found.entry, found.job), owner: String(found.job.data.owner) } : undefined;
    },

    async list({ state, queue, limit }) {
      const status: JobStatus = state === 'failed' ? 'dead' : state;
      const entries = [...defined.values()].filter((d) => queue === undefined || d.definition.queue === queue);
      const views: JobView[] = [];
      for (const entry of entries) {
        for (const job of await stored('list jobs', () => entry.queue.list(status, limit))) views.push(viewOf(entry, job));
      }
      const at = (v: JobView) => v.finishedAt ?? v.createdAt;
      return views.sort((a, b) => at(b).localeCompare(at(a))).slice(0, limit);
    },

    async retry(id) {
      const found = await load(id);
      if (!found) throw new AppError('NOT_FOUND', `no job ${id}`);
      const { entry, job } = found;
      if (job.status !== 'dead' || !(await stored('retry the job', () => entry.queue.retry(id)))) {
        throw new AppError('JOB_NOT_DEAD', `job ${id} is ${job.status}, not dead: only a dead job can be retried`);
      }
      log.info({ queue: entry.definition.queue, jobId: id }, 'dead job retried');
      const again = await load(id);
      if (!again) throw new AppError('NOT_FOUND', `no job ${id}`);
      return viewOf(again.entry, again.job);
    },

    async close(timeoutMs) {
      clearInterval(timer);
      const workers = [...defined.values()].flatMap((d) => (d.worker ? [d.worker] : []));
      // Take no new job; let the running ones finish, within the bound. A job cut off is taken up
      // again by a worker of another node (or this one, after a restart) once its lock expires.
      await Promise.all(workers.map((w) => w.stop()));
      if ((await within(Promise.allSettled([...running]), timeoutMs)) === 'timeout') {
        log.warn({ running: running.size, timeoutMs }, 'jobs still running at shutdown: they will be taken up again');
      }
      await within(Promise.allSettled(workers.map((w) => w.close())), 2_000);
      log.info('job workers and queues closed');
    },
  };
}

const within = <T>(work: Promise<T>, ms: number): Promise<T | 'timeout'> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
};
