import { createHash } from 'node:crypto';
import { AppError, toAppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import { isEmail } from '../../kernel/schemas.ts';
import { startTrace } from '../../kernel/trace.ts';
import type { RunningJob } from '../../ports/job-queue.ts';
import type { ConversationState } from '../chat/conversation.types.ts';
import type { JobAttempt, JobQueues } from '../jobs/job-queues.ts';
import { forgetUnstartedWrite, jobWriteGuard, type TakesIdempotencyKey, type WritingJobData } from '../jobs/ticket-jobs.ts';
import type { CallOptions, QueryService } from '../query/query.service.ts';

export const MESSAGE_TICKET_QUEUE = 'message-tickets';
/** The ticket system's limits (the connector's ticket.create params). */
const SUBJECT_MAX = 200;
const DESCRIPTION_MAX = 10_000;

/** What the visitor left: the message, and an email when it is not a verified customer. */
export interface LeftMessage {
  readonly text: string;
  readonly email?: string;
}

/** The conversation as the job needs it; `topic` arrives with the widget's start (dispatch). */
export type MessageConversation = Pick<ConversationState, 'visitor' | 'subject' | 'seq'> & { readonly topic?: string };

interface MessageTicketJob extends WritingJobData {
  readonly conversationId: string;
  /** The verified customer (CRM id), when the site proved who the visitor is. */
  readonly customerId?: string;
  readonly email?: string;
  readonly subject: string;
  readonly text: string;
}

/** What a completed job holds (the Job schema's `MessageTicketResult`). */
export interface MessageTicketResult {
  readonly conversationId: string;
  readonly ticketId: string;
  readonly requesterRef: string;
}

export interface MessageTickets {
  /**
   * Queues the ticket for a message left in a conversation and answers the job's id. The id is
   * the conversation's: enqueueing it again queues nothing new (one ticket per conversation).
   * VALIDATION_FAILED without a verified customer nor an email, or with an email that is not one;
   * STORE_UNAVAILABLE when the job store is away.
   */
  enqueue(conversationId: string, state: MessageConversation, input: LeftMessage): Promise<string>;
}

export interface MessageTicketsDeps {
  readonly jobs: JobQueues;
  readonly query: QueryService;
  readonly takesIdempotencyKey: TakesIdempotencyKey;
  /** Whether a capability takes a param (ticket.create's `channel`); without it, no channel is sent. */
  readonly takesParam?: (capability: string, param: string) => boolean;
  /**
   * Appends the public `ticket_opened` event to the conversation (the conversations service's
   * `dispatch`, with client id `ticket:<jobId>` so that a repeat appends nothing). A failure is
   * retried with the job; the ticket is not made twice (the job's id is its idempotency token).
   */
  readonly appendTicketOpened: (conversationId: string, ticketId: string, ticketJobId: string) => Promise<void>;
  readonly log: Logger;
  /**
   * Attempts of a job (the gateway's `OMNIGATE_MESSAGE_TICKET_ATTEMPTS`, 40: with the backoff
   * doubling up to a minute between attempts, about half an hour), so that a tickets backend down
   * for minutes only delays the ticket; then it waits in the dead letters. Default: every queue's.
   */
  readonly attempts?: number;
  /** The first retry delay (it doubles per attempt, capped; see jobBackoff). Default: every queue's. */
  readonly backoffMs?: number;
}

/**
 * The job id of a message left in a conversation at a seq: `mt_`, the conversation id (hashed if it
 * has other characters) and the seq the message was left at. A repeat at the same seq finds the
 * same job; a message left again after a reopen (a later seq) is a ticket of its own.
 */
export function messageTicketJobId(conversationId: string, seq: number): string {
  const conversation = /^[A-Za-z0-9-]{1,100}$/.test(conversationId) ? conversationId : createHash('sha256').update(conversationId).digest('hex').slice(0, 40);
  return `mt_${conversation}_${seq}`;
}

/** `Chat message`, with the conversation's topic or subject when it has one, within the ticket system's limit. */
export function messageSubject(state: Pick<MessageConversation, 'subject' | 'topic'>): string {
  const about = (state.topic ?? state.subject)?.trim();
  return (about ? `Chat message: ${about}` : 'Chat message').slice(0, SUBJECT_MAX);
}

/**
 * Messages left when nobody can take a chat become tickets in the tickets system, through the
 * connector, as durable jobs (BullMQ in the gateway) retried while that backend is away. The
 * requester: the verified customer's id in the tickets system (from the CRM), else the CRM's
 * customer with that email, else `requester.ensure` (the tickets system matches the email or makes
 * a requester). `ticket.create` carries the job id as its idempotency token, so a retry after a
 * lost answer returns the same ticket; then `ticket_opened` goes on the conversation.
 */
export function createMessageTickets(deps: MessageTicketsDeps): MessageTickets {
  const queue = deps.jobs.define<MessageTicketJob>({
    queue: MESSAGE_TICKET_QUEUE,
    type: 'message.ticket',
    idPrefix: 'mt',
    writes: true,
    ...(deps.attempts === undefined ? {} : { attempts: deps.attempts }),
    ...(deps.backoffMs === undefined ? {} : { backoffMs: deps.backoffMs }),
    async process(job, log, attempt) {
      const trace = startTrace(job.data.traceparent, `job-${job.id}`);
      const options: CallOptions = { trace, log: log.child({ traceId: trace.traceId, conversationId: job.data.conversationId }) };
      const { ticketId, requesterRef } = await openTicket(job, attempt, options).catch(async (err: unknown) => {
        await forgetUnstartedWrite(job, err);
        throw err;
      });
      await deps.appendTicketOpened(job.data.conversationId, ticketId, job.id).catch((err: unknown) => {
        // The job is queued before the message is recorded: a quick one may get here first. Later,
        // the conversation has it (the ticket is not made again: the job id is its token).
        if (toAppError(err).code !== 'INVALID_TRANSITION') throw err;
        throw new AppError('CONVERSATION_BUSY', `conversation ${job.data.conversationId} has not recorded the message of job ${job.id} yet: ticket ${ticketId} is told once it has`, {}, { cause: err });
      });
      options.log.info({ ticketId }, 'ticket opened for a left message');
      return { conversationId: job.data.conversationId, ticketId, requesterRef } satisfies MessageTicketResult;
    },
    details(job) {
      const ticketId = (job.result as MessageTicketResult | undefined)?.ticketId;
      return typeof ticketId === 'string' ? { resource: `/v1/tickets/${encodeURIComponent(ticketId)}` } : {};
    },
  });

  /** The requester: the verified customer's, else the CRM's by email, else the tickets system's by email. */
  async function requesterOf(data: MessageTicketJob, options: CallOptions): Promise<string> {
    if (data.customerId !== undefined) {
      const customer = await deps.query.call('customer.get', { id: data.customerId }, options);
      const ref = ticketsIdOf(customer.data);
      if (ref !== undefined) return ref;
      if (data.email === undefined) throw new AppError('NOT_FOUND', `customer ${data.customerId} has no account in the tickets system, and no email was given`);
    }
    const email = data.email as string;
    const found = await deps.query.call('customer.list', { email, pageSize: 1 }, options);
    const ref = ticketsIdOf((found.data as { items?: unknown[] }).items?.[0]);
    return ref ?? ensureRequester(email, options);
  }

  async function ensureRequester(email: string, options: CallOptions): Promise<string> {
    // Idempotent by email at the backend: an attempt that timed out may simply run again.
    const ensured = await deps.query.call('requester.ensure', { email }, options);
    return (ensured.data as { id: string }).id;
  }

  async function openTicket(job: RunningJob<MessageTicketJob>, attempt: JobAttempt, options: CallOptions): Promise<{ ticketId: string; requesterRef: string }> {
    const { data } = job;
    const guard = jobWriteGuard(job, attempt);
    const withToken = deps.takesIdempotencyKey('ticket.create');
    const create = async (requesterRef: string) => {
      await guard.starting(withToken);
      const ticket = await deps.query.call('ticket.create', {
        requesterRef,
        subject: data.subject,
        description: data.text.slice(0, DESCRIPTION_MAX),
        ...(deps.takesParam?.('ticket.create', 'channel') ? { channel: 'chat' } : {}),
        ...(withToken ? { idempotencyKey: guard.token } : {}),
      }, options);
      return { ticketId: (ticket.data as { id: string }).id, requesterRef };
    };
    const requesterRef = await requesterOf(data, options);
    try {
      return await create(requesterRef);
    } catch (err) {
      // A requester the tickets system does not know (the CRM's link is stale, or the backend
      // lost the one it made): with an email, the tickets system's own requester is made and used.
      if (data.email === undefined || toAppError(err).code !== 'NOT_FOUND') throw err;
      options.log.warn({ requesterRef }, 'the tickets system does not know the requester: ensuring one by email');
      await forgetUnstartedWrite(job, err);
      return create(await ensureRequester(data.email, options));
    }
  }

  return {
    async enqueue(conversationId, state, input) {
      const customerId = state.visitor?.customerId;
      const email = input.email?.trim();
      if (email !== undefined && !isEmail(email)) throw invalid('/email', 'email must be an email address');
      if (customerId === undefined && email === undefined) throw invalid('/email', 'an anonymous visitor must give an email to leave a message');
      if (input.text.trim() === '') throw invalid('/text', 'text must not be blank');
      const job = await queue.add(messageTicketJobId(conversationId, state.seq), {
        owner: 'system',
        conversationId,
        ...(customerId === undefined ? {} : { customerId }),
        ...(email === undefined ? {} : { email }),
        subject: messageSubject(state),
        text: input.text,
      });
      return job.id;
    },
  };
}

function ticketsIdOf(customer: unknown): string | undefined {
  const ref = (customer as { externalIds?: Record<string, unknown> } | undefined)?.externalIds?.tickets;
  return typeof ref === 'string' && ref !== '' ? ref : undefined;
}

const invalid = (pointer: string, message: string): AppError => new AppError('VALIDATION_FAILED', message, { errors: [{ in: 'body', pointer, message }] });
