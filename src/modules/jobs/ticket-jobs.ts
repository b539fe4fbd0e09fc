import { createHash, randomUUID } from 'node:crypto';
import { AppError } from '../../kernel/errors.ts';
import { startTrace } from '../../kernel/trace.ts';
import type { CallOptions, QueryResult, QueryService } from '../query/query.service.ts';
import type { JobEnvelope, JobQueues } from './job-queues.ts';
import type { JobView } from './job-view.ts';

export const TICKET_QUEUE = 'ticket-create';

/** The body of POST /v1/tickets (CreateTicketRequest). */
export interface TicketInput {
  readonly customerId: string;
  readonly subject: string;
  readonly description: string;
  readonly priority?: string;
}

/** Opens a ticket: the customer's id in the tickets system from the CRM, then ticket.create. */
export type OpenTicket = (input: TicketInput, options: CallOptions) => Promise<QueryResult>;

export function createOpenTicket(query: QueryService): OpenTicket {
  return async ({ customerId, ...ticket }, options) => {
    const lookup = await query.call('customer.get', { id: customerId }, options);
    const requesterRef = (lookup.data as { externalIds: Record<string, string | undefined> }).externalIds.tickets;
    if (requesterRef === undefined) throw new AppError('NOT_FOUND', `customer ${customerId} has no account in the tickets system`);
    return query.call('ticket.create', { requesterRef, ...ticket }, options);
  };
}

interface TicketJobData extends JobEnvelope {
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

export function createTicketJobs(deps: { jobs: JobQueues; openTicket: OpenTicket }): TicketJobs {
  const queue = deps.jobs.define<TicketJobData>({
    queue: TICKET_QUEUE,
    // Creating a ticket twice is the one thing this job must never do.
    writes: true,
    type: 'ticket.create',
    idPrefix: 'tc',
    async process(job, log) {
      // The job continues the trace of the request that queued it.
      const trace = startTrace(job.data.traceparent, `job-${job.id}`);
      const result = await deps.openTicket(job.data.input, { trace, log: log.child({ traceId: trace.traceId }) });
      return { ...result, traceId: trace.traceId } satisfies TicketJobResult;
    },
    details(job) {
      const id = (job.returnvalue as TicketJobResult | null | undefined)?.data as { id?: unknown } | undefined;
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
