import type { Job } from 'bullmq';
import type { ErrorCode } from '../../kernel/errors.ts';
import { parseJobFailure } from './job-failure.ts';

/**
 * A job's state as the API shows it. `dead` is BullMQ's `failed` set: every attempt failed, or
 * one failed in a way no retry can fix; it stays there, retryable by an admin, until it expires.
 */
export type JobState = 'waiting' | 'active' | 'delayed' | 'completed' | 'dead';

/** A job as GET /v1/jobs/{id} and the admin API show it (the Job schema in openapi/). */
export interface JobView {
  readonly id: string;
  readonly queue: string;
  /** What the job does: `ticket.create`, `webhook.delivery`. */
  readonly type: string;
  readonly state: JobState;
  /** Attempts started so far, the running one included. */
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly createdAt: string;
  readonly finishedAt?: string;
  /** What the job produced, once completed. */
  readonly result?: unknown;
  /** The last attempt's failure: while the job waits for its next attempt, and once it is dead. */
  readonly error?: { readonly code: ErrorCode; readonly detail: string };
  /** The resource the job made, once completed (`/v1/tickets/{id}`). */
  readonly resource?: string;
  /** For a webhook delivery: which subscription and which event. */
  readonly webhook?: { readonly subscriptionId: string; readonly eventId: string; readonly eventType: string };
}

/** BullMQ's states → the API's; `unknown` (no such job) → undefined. */
export function jobStateOf(state: string): JobState | undefined {
  switch (state) {
    case 'completed':
    case 'active':
    case 'delayed':
      return state;
    case 'failed':
      return 'dead';
    case 'waiting':
    case 'prioritized':
    case 'waiting-children':
    case 'paused':
      return 'waiting';
    default:
      return undefined;
  }
}

/** The parts of a view only the job's own queue knows. */
export type JobDetails = Pick<JobView, 'resource' | 'webhook'>;

export function toJobView(job: Job, queue: string, type: string, state: JobState, details: JobDetails): JobView {
  const failure = job.failedReason ? parseJobFailure(job.failedReason) : undefined;
  return {
    id: String(job.id),
    queue,
    type,
    state,
    // A job read just as a worker takes it can be active before its attempt is counted.
    attempts: Math.max(job.attemptsStarted ?? 0, (job.attemptsMade ?? 0) + (state === 'active' ? 1 : 0)),
    maxAttempts: job.opts.attempts ?? 1,
    createdAt: new Date(job.timestamp).toISOString(),
    ...(job.finishedOn && (state === 'completed' || state === 'dead') ? { finishedAt: new Date(job.finishedOn).toISOString() } : {}),
    ...(state === 'completed' && job.returnvalue !== null && job.returnvalue !== undefined ? { result: job.returnvalue as unknown } : {}),
    ...(failure && state !== 'completed' ? { error: failure } : {}),
    ...details,
  };
}
