import { setTimeout as sleep } from 'node:timers/promises';

/** How long {@link waitFor} polls, and what it does with a probe that throws. */
export interface WaitOptions {
  /** Gives up after this long (the probe's own time counts). */
  timeoutMs?: number;
  /** Pause between two probes. */
  intervalMs?: number;
  /**
   * Treats a thrown (or rejected) probe as "not yet": for probes of something still starting,
   * like a process whose port is not open. Otherwise the error fails the wait at once.
   */
  retryOnError?: boolean;
  /** Extra context for the time-out's message, read when it happens (a process's output, the last answer). */
  detail?: () => string;
}

/** A probe's answer: `undefined`, `null` or `false` (any falsy value) means "not yet". */
type Probed<T> = T | undefined | null | false;

/**
 * Polls `probe` until it answers something truthy and resolves with that answer: the one way the
 * tests wait for a condition (never for a time). Rejects with `timed out after N ms waiting for
 * <what>` (and `detail()`, if given) once `timeoutMs` has passed.
 */
export async function waitFor<T>(what: string, probe: () => Probed<T> | Promise<Probed<T>>, options: WaitOptions = {}): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 20, retryOnError = false, detail } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let value: Probed<T>;
    try {
      value = await probe();
    } catch (err) {
      if (!retryOnError) throw err;
      value = undefined;
    }
    if (value) return value;
    if (Date.now() >= deadline) {
      const extra = detail ? `\n${detail()}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${extra}`);
    }
    await sleep(intervalMs);
  }
}
