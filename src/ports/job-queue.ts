/**
 * Where a job stands. `dead`: every attempt failed, or one failed in a way no retry can fix; it
 * stays (retryable) until it expires.
 */
export type JobStatus = 'waiting' | 'active' | 'delayed' | 'completed' | 'dead';

/** A job as its queue keeps it. */
export interface StoredJob<D = unknown> {
  readonly id: string;
  readonly queue: string;
  /** What the job does: `ticket.create`, `webhook.delivery`, `conversation.idle` … */
  readonly name: string;
  readonly data: D;
  readonly status: JobStatus;
  /** Attempts begun so far, the running one included. */
  readonly attemptsStarted: number;
  /** Attempts that ended (in a failure, or the one that completed). */
  readonly attemptsMade: number;
  readonly maxAttempts: number;
  /** The base wait between attempts it was added with (the retry policy scales it). */
  readonly backoffMs: number;
  /** Epoch ms it was added at. */
  readonly createdAt: number;
  /** Epoch ms it completed or died at. */
  readonly finishedAt?: number;
  /** What the handler returned, once completed. */
  readonly result?: unknown;
  /** The message of the last failed attempt. */
  readonly failedReason?: string;
}

/** How one job is kept and run. */
export interface AddJobOptions {
  readonly attempts: number;
  readonly backoffMs: number;
  /** Runs no sooner than this many ms from now: a timer (visitor idle, agent silent, snooze ends). */
  readonly delayMs?: number;
  /** A completed job stays readable this long. */
  readonly keepCompletedMs: number;
  /** A dead job stays in the dead letters this long. */
  readonly keepDeadMs: number;
}

/** A job as its handler sees it while an attempt runs. */
export interface RunningJob<D> extends StoredJob<D> {
  /** How many times a worker died (or lost its lock) while running this job: it was taken up again each time. */
  readonly stalls: number;
  /**
   * Replaces the job's data: later attempts, and a run after a crash, read it (a marker that a
   * write started, say). `data` shows it at once.
   */
  updateData(data: D): Promise<void>;
}

/** Runs one attempt of a job; what it resolves with is the job's result. */
export type JobHandler<D> = (job: RunningJob<D>) => Promise<unknown>;

/** How a queue's jobs are taken and retried. */
export interface WorkOptions<D> {
  /** Jobs run at once by this worker. */
  readonly concurrency: number;
  /**
   * After a failed attempt: how long to wait before the next one, or undefined when no retry can
   * help (the job dies now). `error` is what the handler threw; with no attempts left the job dies
   * whatever this answers.
   */
  retryDelay(job: StoredJob<D>, error: unknown): number | undefined;
  /**
   * How long a running job stays held by its worker (renewed while it runs). A job whose worker
   * died runs again once the hold lapses.
   */
  readonly lockMs?: number;
  /**
   * The stalls after which the handler no longer gets the job (its `stalls` says how many there
   * were; it decides what to do). The backend may fail a job that stalls more often than that
   * without calling the handler. Default: 1.
   */
  readonly maxStalls?: number;
}

/** Takes jobs of one queue until it is closed. */
export interface JobWorker {
  /** Takes no new job; running ones carry on. */
  stop(): Promise<void>;
  /** Stops and lets go: a job still running is run again (by any worker) once its hold lapses. */
  close(): Promise<void>;
}

/**
 * One durable queue of jobs: added once per id, run at least once by a worker of any node, retried
 * with backoff, dead-lettered when attempts run out. Jobs outlive the process that added them.
 */
export interface JobQueue<D = unknown> {
  readonly name: string;
  /** Adds a job under `id` once: an id that is there keeps its job. Resolves with the job as kept. */
  add(id: string, name: string, data: D, options: AddJobOptions): Promise<StoredJob<D> | undefined>;
  /** The job, or undefined when there is none (never added, cancelled, expired). */
  get(id: string): Promise<StoredJob<D> | undefined>;
  /** Jobs in `status`, newest first, at most `limit`. */
  list(status: JobStatus, limit: number): Promise<StoredJob<D>[]>;
  counts(): Promise<Record<JobStatus, number>>;
  /** Removes a job that has not begun (waiting or delayed): true when removed; a running or ended job stays. */
  cancel(id: string): Promise<boolean>;
  /** Puts a dead job back to waiting with all its attempts: false when it is not dead. */
  retry(id: string): Promise<boolean>;
  /** Starts a worker on this queue. */
  work(handler: JobHandler<D>, options: WorkOptions<D>): JobWorker;
}

/** The store of every queue (Redis with BullMQ, or memory within one process). */
export interface JobBackend {
  /** The queue of this name; the same one for every call with the name. */
  queue<D>(name: string): JobQueue<D>;
  /** Whether jobs can be added and read now (else a request answers STORE_UNAVAILABLE at once). */
  isUp(): boolean;
  /** Closes workers, queues and connections; running jobs are cut off (see JobWorker.close). */
  close(): Promise<void>;
}
