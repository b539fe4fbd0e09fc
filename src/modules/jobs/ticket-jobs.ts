import { createHash, randomUUID } from 'node:crypto';
import { AppError, isOutcomeUnknown, toAppError } from '../../kernel/errors.ts';
import { startTrace } from '../../kernel/trace.ts';
import type { RunningJob } from '../../ports/job-queue.ts';
import type { CallOptions, QueryResult, QueryService } from '../query/query.service.ts';
import type { JobAttempt, JobEnvelope, JobQueues } from './job-queues.ts';
import type { JobView } from './job-view.ts';
import type { WriteGuard } from './write-guard.ts';

export const TICKET_QUEUE = 'ticket-create';

/** The body of POST /v1/tickets (CreateTicketRequest). */
export interface TicketInput {
  readonly customerId: string;
  readonly subject: string;
  readonly description: string;
  readonly priority?: string;
}

/** Opens a ticket: the customer's id in the tickets system from the CRM, then ticket.create. */
export type OpenTicket = (input: TicketInput, options: CallOptions, guard?: WriteGuard) => Promise<QueryResult>;

/** Whether a capability's connector takes an idempotency token (declares an `idempotencyKey` param). */
export type TakesIdempotencyKey = (capability: string) => boolean;

export function createOpenTicket(query: QueryService, takesIdempotencyKey: TakesIdempotencyKey): OpenTicket {
  return async ({ customerId, ...ticket }, options, guard) => {
    const lookup = await query.call('customer.get', { id: customerId }, options);
    const requesterRef = (lookup.data as { externalIds?: Record<string, string | undefined> }).externalIds?.tickets;
    if (requesterRef === undefined) throw new AppError('NOT_FOUND', `customer ${customerId} has no account in the tickets system`);
    const withToken = guard !== undefined && takesIdempotencyKey('ticket.create');
    await guard?.starting(withToken);
    return query.call('ticket.create', { requesterRef, ...ticket, ...(withToken ? { idempotencyKey: guard.token } : {}) }, options);
  };
}

interface TicketJobData extends WritingJobData {
  readonly input: TicketInput;
}

/** What a completed ticket job holds: the ticket envelope, as POST /v1/tickets answers it. */
type TicketJobResult = QueryResult & { readonly traceId: string };

export interface TicketJobs {
  /**
   * Queues a ticket creation. With an idempotency key the job id is derived from the owner and
   * the key, so a repeat of the request finds the job it queued instead of queueing another.
   */
  enqueue(request: { owner: string; input: TicketInput; traceparent: string; idempotencyKey?: string }): Promise<JobView>;
  /** A ticket job of this owner as it is now; undefined once it has expired. */
  find(id: string, owner: string): Promise<JobView | undefined>;
}

/** A job that writes once: while an attempt's write is out without a token, it carries when it started. */
export interface WritingJobData extends JobEnvelope {
  readonly writeStartedAt?: string;
}

/**
 * The job's id is its token: every run and attempt of the job, after a crash too, sends the same
 * one, so a failure with an unknown outcome (a timeout) is retried like any other. Without
 * a token the write is marked started first, and a run that finds the mark (the run before it
 * died mid-write) stops with an unknown outcome (dead-lettered) rather than write again.
 */
export function jobWriteGuard<D extends WritingJobData>(job: RunningJob<D>, attempt: JobAttempt): WriteGuard {
  return {
    token: job.id,
    async starting(isRepeatSafe) {
      if (!isRepeatSafe && job.data.writeStartedAt !== undefined) {
        // Counted as this attempt's write, so that the unknown outcome ends the job at once.
        attempt.writeStarted();
        throw new AppError('UPSTREAM_TIMEOUT', `an earlier run of this job started the write at ${job.data.writeStartedAt} and never finished: its outcome is unknown, so it is not written again`);
      }
      // With the token a write that timed out may be retried: the backend returns what it made.
      if (isRepeatSafe) return;
      await job.updateData({ ...job.data, writeStartedAt: new Date().toISOString() });
      attempt.writeStarted();
    },
  };
}

/** After a failed attempt: a write that did not happen (or never started) is unmarked, so the next attempt may make it. */
export async function forgetUnstartedWrite<D extends WritingJobData>(job: RunningJob<D>, err: unknown): Promise<void> {
  const { writeStartedAt, ...data } = job.data;
  if (writeStartedAt !== undefined && !isOutcomeUnknown(toAppError(err))) await job.updateData(data as D);
}

export function createTicketJobs(deps: { jobs: JobQueues; openTicket: OpenTicket }): TicketJobs {
  const queue = deps.jobs.define<TicketJobData>({
    queue: TICKET_QUEUE,
    // Creating a ticket twice is the one thing this job must never do.
    writes: true,
    type: 'ticket.create',
    idPrefix: 'tc',
    async process(job, log, attempt) {
      // The job continues the trace of the request that queued it.
      const trace = startTrace(job.data.traceparent, `job-${job.id}`);
      const options = { trace, log: log.child({ traceId: trace.traceId }) };
      const result = await deps.openTicket(job.data.input, options, jobWriteGuard(job, attempt)).catch(async (err: unknown) => {
        await forgetUnstartedWrite(job, err);
        throw err;
      });
      return { ...result, traceId: trace.traceId } satisfies TicketJobResult;
    },
    details(job) {
      const id = (job.result as TicketJobResult | undefined)?.data as { id?: unknown } | undefined;
      return typeof id?.id === 'string' ? { resource: `/v1/tickets/${encodeURIComponent(id.id)}` } : {};
    },
  });

  return {
    enqueue({ owner, input, traceparent, idempotencyKey }) {
      const suffix = idempotencyKey === undefined ? randomUUID().replaceAll('-', '') : createHash('sha256').update(`${owner}\n${idempotencyKey}`).digest('hex').slice(0, 40);
      return queue.add(`tc_${suffix}`, { owner, input, traceparent });
    },
    async find(id, owner) {
      const found = await deps.jobs.find(id);
      return found?.owner === owner ? found.view : undefined;
    },
  };
}
