import type { AddJobOptions, JobBackend, JobHandler, JobQueue, JobStatus, JobWorker, RunningJob, StoredJob, WorkOptions } from '../../ports/job-queue.ts';

interface Kept {
  job: StoredJob<unknown>;
  /** When a delayed job is due (epoch ms). */
  runAt: number;
  options: AddJobOptions;
  /** The attempt that holds it while active; an attempt that lost its hold keeps nothing. */
  hold?: symbol;
}

/**
 * What the in-memory queues keep: hand the same store to a new backend and it finds the jobs the
 * closed one left (a restart within one process, as Redis outlives a gateway).
 */
export interface MemoryJobStore {
  readonly queues: Map<string, Map<string, Kept>>;
}

export const createMemoryJobStore = (): MemoryJobStore => ({ queues: new Map() });

/** Values go through JSON, as they would through Redis: no object is shared with a caller. */
const copy = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));
const ended = (status: JobStatus) => status === 'completed' || status === 'dead';

/** Queues within one process (the unit tier): the port's semantics, no durability past the process. */
export function createMemoryJobBackend(options: { store?: MemoryJobStore; now?: () => number } = {}): JobBackend {
  const store = options.store ?? createMemoryJobStore();
  const now = options.now ?? Date.now;
  const opened = new Map<string, JobQueue<unknown>>();
  const closers = new Set<() => Promise<void>>();

  function open<D>(name: string): JobQueue<D> {
    const jobs = store.queues.get(name) ?? new Map<string, Kept>();
    store.queues.set(name, jobs);
    const pumps = new Set<() => void>();
    const pumpAll = () => pumps.forEach((pump) => pump());

    /** The job as it stands now: a due delayed job is waiting; an ended one past its keep is gone. */
    function current(id: string): Kept | undefined {
      const kept = jobs.get(id);
      if (!kept) return undefined;
      const { job, options: opts } = kept;
      if (ended(job.status) && (job.finishedAt ?? 0) + (job.status === 'completed' ? opts.keepCompletedMs : opts.keepDeadMs) <= now()) {
        jobs.delete(id);
        return undefined;
      }
      if (job.status === 'delayed' && kept.runAt <= now()) kept.job = { ...job, status: 'waiting' };
      return kept;
    }
    const snapshot = (kept: Kept) => copy(kept.job) as StoredJob<D>;
    const all = () => [...jobs.keys()].map(current).filter((k): k is Kept => k !== undefined);

    const port: JobQueue<D> = {
      name,
      async add(id, jobName, data, opts) {
        if (!current(id)) {
          const delayed = (opts.delayMs ?? 0) > 0;
          const job: StoredJob<unknown> = { id, queue: name, name: jobName, data: copy(data), status: delayed ? 'delayed' : 'waiting', attemptsStarted: 0, attemptsMade: 0, maxAttempts: opts.attempts, backoffMs: opts.backoffMs, createdAt: now() };
          jobs.set(id, { job, runAt: now() + (opts.delayMs ?? 0), options: opts });
          pumpAll();
        }
        const kept = current(id);
        return kept ? snapshot(kept) : undefined;
      },
      async get(id) {
        const kept = current(id);
        return kept ? snapshot(kept) : undefined;
      },
      async list(status, limit) {
        const at = (k: Kept) => k.job.finishedAt ?? k.job.createdAt;
        return all().filter((k) => k.job.status === status).sort((a, b) => at(b) - at(a)).slice(0, limit).map(snapshot);
      },
      async counts() {
        const counts: Record<JobStatus, number> = { waiting: 0, active: 0, delayed: 0, completed: 0, dead: 0 };
        for (const kept of all()) counts[kept.job.status] += 1;
        return counts;
      },
      async cancel(id) {
        const kept = current(id);
        if (kept?.job.status !== 'waiting' && kept?.job.status !== 'delayed') return false;
        return jobs.delete(id);
      },
      async retry(id) {
        const kept = current(id);
        if (kept?.job.status !== 'dead') return false;
        const { finishedAt: _finished, ...rest } = kept.job;
        kept.job = { ...rest, status: 'waiting', attemptsStarted: 0, attemptsMade: 0 };
        pumpAll();
        return true;
      },
      work(handler, work) {
        return startWorker(jobs, handler as JobHandler<unknown>, work as WorkOptions<unknown>, current, pumps);
      },
    };
    return port;
  }

  function startWorker(jobs: Map<string, Kept>, handler: JobHandler<unknown>, work: WorkOptions<unknown>, current: (id: string) => Kept | undefined, pumps: Set<() => void>): JobWorker {
    const held = new Set<Kept>();
    let isStopped = false;
    let timer: NodeJS.Timeout | undefined;

    async function run(kept: Kept): Promise<void> {
      const hold = Symbol('attempt');
      kept.hold = hold;
      kept.job = { ...kept.job, status: 'active', attemptsStarted: kept.job.attemptsStarted + 1 };
      held.add(kept);
      let data = copy(kept.job.data);
      const job: RunningJob<unknown> = {
        ...copy(kept.job),
        // One process: a job's worker cannot die while the queue lives on.
        stalls: 0,
        get data() {
          return data;
        },
        async updateData(next) {
          data = copy(next);
          // Kept only while this attempt holds the job, as a lock-checked update in Redis would be.
          if (kept.hold === hold) kept.job = { ...kept.job, data: copy(next) };
        },
      };
      let outcome: { result: unknown } | { error: unknown };
      try {
        outcome = { result: await handler(job) };
      } catch (error) {
        outcome = { error };
      }
      held.delete(kept);
      // Cut off meanwhile (closed, or cancelled and added again): this attempt keeps nothing.
      if (kept.hold !== hold || jobs.get(job.id) !== kept) return pump();
      delete kept.hold;
      const attemptsMade = kept.job.attemptsMade + 1;
      if ('result' in outcome) {
        kept.job = { ...kept.job, status: 'completed', attemptsMade, finishedAt: now(), ...(outcome.result === undefined ? {} : { result: copy(outcome.result) }) };
      } else {
        const failedReason = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
        const delay = attemptsMade < kept.job.maxAttempts ? work.retryDelay(job, outcome.error) : undefined;
        kept.job = delay === undefined ? { ...kept.job, status: 'dead', attemptsMade, failedReason, finishedAt: now() } : { ...kept.job, status: 'delayed', attemptsMade, failedReason };
        kept.runAt = now() + (delay ?? 0);
      }
      pump();
    }

    /** Starts what is due, up to the concurrency; wakes up again when the next delayed job is due. */
    function pump(): void {
      clearTimeout(timer);
      if (isStopped) return;
      const due = [...jobs.keys()].map(current).filter((k): k is Kept => k !== undefined);
      for (const kept of due.filter((k) => k.job.status === 'waiting').sort((a, b) => a.runAt - b.runAt)) {
        if (held.size >= work.concurrency) break;
        void run(kept);
      }
      const next = Math.min(...due.filter((k) => k.job.status === 'delayed').map((k) => k.runAt));
      if (Number.isFinite(next)) timer = setTimeout(pump, Math.max(0, next - now()));
    }

    /** Lets go of the running jobs: they wait for the next worker, as a lapsed hold would. */
    const letGo = async () => {
      isStopped = true;
      clearTimeout(timer);
      pumps.delete(pump);
      for (const kept of held) {
        delete kept.hold;
        kept.job = { ...kept.job, status: 'waiting' };
      }
      held.clear();
      closers.delete(letGo);
      for (const other of pumps) other();
    };
    pumps.add(pump);
    closers.add(letGo);
    queueMicrotask(pump);
    return {
      async stop() {
        isStopped = true;
        clearTimeout(timer);
      },
      close: letGo,
    };
  }

  return {
    queue: <D>(name: string) => (opened.get(name) as JobQueue<D> | undefined) ?? (opened.set(name, open<D>(name) as JobQueue<unknown>), opened.get(name) as JobQueue<D>),
    isUp: () => true,
    async close() {
      for (const close of [...closers]) await close();
    },
  };
}
