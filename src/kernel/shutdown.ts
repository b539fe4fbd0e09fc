import type { Logger } from './logger.ts';

/**
 * How long a gateway process may take to stop after SIGTERM before it exits anyway: the drain's
 * grace, the running jobs' grace (they come one after the other), and 15 s for the rest (the
 * outbox's flush is bounded at 5 s, the job store's close at 4 s).
 */
export function shutdownDeadlineMs(graceMs: number): number {
  return 2 * graceMs + 15_000;
}

export interface ShutdownDeps {
  /** The gateway's stop: drains, flushes and closes every part. */
  stop(): Promise<void>;
  exit(code: number): void;
  log: Logger;
  deadlineMs: number;
}

/**
 * Stops the gateway and exits: 0 once it stopped, 1 when stopping failed or did not finish within
 * `deadlineMs`. A part that never finishes closing (waiting on a store that is gone, say) must not
 * keep a process that was told to stop running until something kills it; the log has already
 * named that part ("a part is slow to close at shutdown").
 */
export function shutDown(deps: ShutdownDeps): Promise<void> {
  const { log, deadlineMs } = deps;
  const late = setTimeout(() => {
    log.error({ deadlineMs }, 'shutdown did not finish in time: exiting anyway');
    deps.exit(1);
  }, deadlineMs);
  return deps.stop().then(
    () => {
      clearTimeout(late);
      deps.exit(0);
    },
    (err: unknown) => {
      clearTimeout(late);
      log.error({ err }, 'shutdown failed');
      deps.exit(1);
    },
  );
}
