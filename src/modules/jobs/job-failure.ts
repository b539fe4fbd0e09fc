import { ERROR_CATALOGUE, isOutcomeUnknown, toAppError, type ErrorCode } from '../../kernel/errors.ts';

/** The longest wait between two attempts of a job, whatever the attempt count or Retry-After. */
export const MAX_JOB_BACKOFF_MS = 60_000;

/**
 * A failed attempt as the job queue gets it: final (no retry can fix it, straight to the dead
 * letters) or retryable, with the wait the failure asked for, if any.
 */
export class JobFailure extends Error {
  readonly isFinal: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { isFinal: boolean; retryAfterMs?: number | undefined }) {
    super(message);
    this.name = 'JobFailure';
    this.isFinal = options.isFinal;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * What a job's processor throws (`write`: the attempt's write had started). The catalogue decides
 * (its `retryable`): a retryable code leaves the job to its backoff, any other fails it at once.
 * The queue keeps only the message, so the code travels in it as `CODE: detail` (see `parseJobFailure`).
 */
export function toJobFailure(err: unknown, options: { write?: boolean } = {}): JobFailure {
  const error = toAppError(err);
  const message = `${error.code}: ${error.message}`;
  // A write that started and whose outcome is unknown may have happened: retrying could do it twice.
  if (!error.retryable || (options.write && isOutcomeUnknown(error))) return new JobFailure(message, { isFinal: true });
  const retryAfterMs = error.extensions.retryAfterMs;
  return new JobFailure(message, { isFinal: false, retryAfterMs: typeof retryAfterMs === 'number' ? retryAfterMs : undefined });
}

/** A job's `failedReason` back as a code and a detail; anything else the queue wrote (a stalled job …) is INTERNAL. */
export function parseJobFailure(reason: string): { code: ErrorCode; detail: string } {
  const match = /^([A-Z][A-Z_]+): ([\s\S]*)$/.exec(reason);
  const code = match?.[1];
  if (match && code !== undefined && code in ERROR_CATALOGUE) return { code: code as ErrorCode, detail: match[2] ?? '' };
  return { code: 'INTERNAL', detail: reason };
}

/**
 * Exponential backoff with equal jitter: attempt n waits between half and all of
 * `baseMs * 2^(n-1)`, capped at MAX_JOB_BACKOFF_MS, and at least what the failure asked for
 * (a backend's Retry-After, a breaker's reset), within the same cap.
 */
export function jobBackoff(attemptsMade: number, baseMs: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_JOB_BACKOFF_MS, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  const delay = Math.round(ceiling / 2 + (random() * ceiling) / 2);
  return retryAfterMs === undefined ? delay : Math.max(delay, Math.min(retryAfterMs, MAX_JOB_BACKOFF_MS));
}
