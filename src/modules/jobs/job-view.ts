import type { ErrorCode } from '../../kernel/errors.ts';
import type { JobStatus, StoredJob } from '../../ports/job-queue.ts';
import { parseJobFailure } from './job-failure.ts';

/**
 * A job's state as the API shows it. `dead`: every attempt failed, or one failed in a way no retry
 * can fix; it stays there, retryable by an admin, until it expires.
 */
export type JobState = JobStatus;

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

/** The parts of a view only the job's own queue knows. */
export type JobDetails = Pick<JobView, 'resource' | 'webhook'>;

export function toJobView(job: StoredJob, queue: string, type: string, details: JobDetails): JobView {
  const { status: state } = job;
  const failure = job.failedReason ? parseJobFailure(job.failedReason) : undefined;
  return {
    id: job.id,
    queue,
    type,
    state,
    // A job read just as a worker takes it can be active before its attempt is counted.
    attempts: Math.max(job.attemptsStarted, job.attemptsMade + (state === 'active' ? 1 : 0)),
    maxAttempts: job.maxAttempts,
    createdAt: new Date(job.createdAt).toISOString(),
    ...(job.finishedAt && (state === 'completed' || state === 'dead') ? { finishedAt: new Date(job.finishedAt).toISOString() } : {}),
    ...(state === 'completed' && job.result !== null && job.result !== undefined ? { result: job.result } : {}),
    ...(failure && state !== 'completed' ? { error: failure } : {}),
    ...details,
  };
}
