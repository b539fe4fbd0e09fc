import { Router, type NextFunction, type Request, type Response } from 'express';
import { AppError } from '../../kernel/errors.ts';
import { ownTraceparent } from '../../kernel/trace.ts';
import { hasBody } from '../http/json-body.ts';
import { jsonShapeProblem, type JsonShapeLimits } from '../http/json-shape.ts';
import { contextOf, principalOf } from '../http/request-context.ts';
import { inputOf, type createRequestValidator } from '../http/openapi-validator.ts';
import { fingerprintOf, IDEMPOTENCY_KEY_PATTERN, type Answer, type Idempotency } from '../jobs/idempotency.ts';
import type { OpenTicket, TicketInput, TicketJobs } from '../jobs/ticket-jobs.ts';
import type { WriteGuard } from '../jobs/write-guard.ts';
import type { ConversationAttribution } from '../lineage/lineage.types.ts';
import type { ContextService } from './context.service.ts';
import { CONVERSATION_ID_HEADER, type ConversationAttributor } from './conversation-attribution.ts';
import type { CallOptions, QueryResult, QueryService } from './query.service.ts';

export interface QueryRoutesDeps {
  readonly query: QueryService;
  readonly context: ContextService;
  readonly validate: ReturnType<typeof createRequestValidator>;
  /** POST /v1/tickets: opening a ticket now, queueing it (Prefer: respond-async), and Idempotency-Key. */
  readonly openTicket: OpenTicket;
  readonly ticketJobs: TicketJobs;
  readonly idempotency: Idempotency;
  /** Checks `X-Conversation-Id` on the reads and makes the attribution their calls carry. */
  readonly attributor: ConversationAttributor;
  /** Whether POST /v1/query's capability reads or writes (undefined: no connector declares it). */
  readonly capabilityKind: (capability: string) => 'query' | 'command' | undefined;
}

/** The query API's reads, which agent tokens may make too (with X-Conversation-Id): `agentMay` of the API key auth. */
const READ_PATH = /^\/v1\/(customers(\/[^/]+(\/(orders|tickets|context))?)?|orders\/[^/]+|tickets\/[^/]+)\/?$/i;
export const isQueryRead = (req: Request): boolean =>
  ((req.method === 'GET' || req.method === 'HEAD') && READ_PATH.test(req.path)) || (req.method === 'POST' && /^\/v1\/query\/?$/i.test(req.path));

/** A GET of one of the query API's resources, without a body (nothing for the JSON body check): the requests app.ts takes the short way. */
export const isBodilessQueryRead = (req: Request): boolean => req.method === 'GET' && !hasBody(req) && READ_PATH.test(req.path);

/** The bounds the spec states for `params` of POST /v1/query (QueryRequest), checked before anything walks them. */
const QUERY_PARAMS_LIMITS: JsonShapeLimits = { maxDepth: 32, maxValues: 10_000 };

const optionsOf = (res: Response): CallOptions => {
  const ctx = contextOf(res);
  const conversation = res.locals.conversation as ConversationAttribution | undefined;
  return { trace: ctx.trace, log: ctx.log, signal: ctx.signal, ...(conversation ? { conversation } : {}) };
};

const envelope = (res: Response, result: QueryResult) => ({ ...result, traceId: contextOf(res).trace.traceId });

/** `Prefer: respond-async` (RFC 7240), among any other preferences. */
const prefersAsync = (req: Request): boolean =>
  (req.get('prefer') ?? '').split(',').some((p) => p.split(';')[0]?.trim().toLowerCase() === 'respond-async');

function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined || IDEMPOTENCY_KEY_PATTERN.test(key)) return key;
  const message = 'Idempotency-Key must be 1 to 255 printable ASCII characters';
  throw new AppError('VALIDATION_FAILED', `header: ${message}`, { errors: [{ in: 'header', pointer: '/Idempotency-Key', message }] });
}

function send(res: Response, answer: Answer, isReplay: boolean): void {
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  if (isReplay) res.setHeader('idempotent-replayed', 'true');
  res.status(answer.status).type(answer.contentType).json(answer.body);
}

/** The unified query API: resources over the canonical model, the context view and POST /v1/query. */
export function createQueryRouter({ query, context, validate, openTicket, ticketJobs, idempotency, attributor, capabilityKind }: QueryRoutesDeps): Router {
  const router = Router();

  /** A read: X-Conversation-Id checked against the conversation (agents must send one), before anything is called. */
  const attributed = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const conversation = await attributor.forRead(principalOf(res), req.get(CONVERSATION_ID_HEADER));
    if (conversation) {
      res.locals.conversation = conversation;
      contextOf(res).log.debug({ conversationId: conversation.conversationId, actor: conversation.actor }, 'read attributed to a conversation');
    }
    next();
  };

  /** A write: service keys only, and never for a conversation (a service key takes part in none). */
  const serviceWrite = (req: Request, res: Response): void => {
    const p = principalOf(res);
    if (p.kind !== 'service') throw new AppError('FORBIDDEN', 'writes (POST /v1/tickets, command capabilities) take an API key: agent tokens only read');
    if (req.get(CONVERSATION_ID_HEADER) !== undefined) throw new AppError('NOT_A_PARTICIPANT', `an API key acts for no conversation: drop ${CONVERSATION_ID_HEADER}`);
  };

  /** The customer's id in another system, from the CRM (the customer master), and the CRM's answer. */
  async function externalId(res: Response, customerId: string, system: string): Promise<{ id: string | undefined; lookup: QueryResult }> {
    const lookup = await query.call('customer.get', { id: customerId }, optionsOf(res));
    // externalIds is optional: a CRM that keeps no ids of other systems has no account there.
    return { id: (lookup.data as { externalIds?: Record<string, string> }).externalIds?.[system], lookup };
  }

  router.get('/customers', validate('listCustomers'), attributed, async (_req: Request, res: Response) => {
    const { query: q } = inputOf(res);
    res.json(envelope(res, await query.call('customer.list', q, optionsOf(res))));
  });

  router.get('/customers/:id', validate('getCustomer'), attributed, async (_req, res) => {
    res.json(envelope(res, await query.call('customer.get', { id: inputOf(res).path.id }, optionsOf(res))));
  });

  // A customer without an account in a system has nothing there: an empty page, sourced from the CRM.
  router.get('/customers/:id/orders', validate('listCustomerOrders'), attributed, async (_req, res) => {
    const { path, query: q } = inputOf(res);
    const { id: customerRef, lookup } = await externalId(res, String(path.id), 'orders');
    if (customerRef === undefined) {
      res.json(envelope(res, { capability: 'order.list', data: { items: [], page: { number: q.page, size: q.pageSize, totalItems: 0, hasMore: false } }, source: lookup.source }));
      return;
    }
    res.json(envelope(res, await query.call('order.list', { customerRef, ...q }, optionsOf(res))));
  });

  router.get('/customers/:id/tickets', validate('listCustomerTickets'), attributed, async (_req, res) => {
    const { path, query: q } = inputOf(res);
    const { id: requesterRef, lookup } = await externalId(res, String(path.id), 'tickets');
    if (requesterRef === undefined) {
      res.json(envelope(res, { capability: 'ticket.list', data: { items: [], page: { size: q.pageSize, hasMore: false } }, source: lookup.source }));
      return;
    }
    res.json(envelope(res, await query.call('ticket.list', { requesterRef, ...q }, optionsOf(res))));
  });

  router.get('/customers/:id/context', validate('getCustomerContext'), attributed, async (_req, res) => {
    const { path, query: q } = inputOf(res);
    const answer = await context.customerContext(String(path.id), { orders: Number(q.ordersLimit), tickets: Number(q.ticketsLimit) }, optionsOf(res));
    res.json({ ...answer, traceId: contextOf(res).trace.traceId });
  });

  router.get('/orders/:id', validate('getOrder'), attributed, async (_req, res) => {
    res.json(envelope(res, await query.call('order.get', { id: inputOf(res).path.id }, optionsOf(res))));
  });

  router.get('/tickets/:id', validate('getTicket'), attributed, async (_req, res) => {
    res.json(envelope(res, await query.call('ticket.get', { id: inputOf(res).path.id }, optionsOf(res))));
  });

  // With Idempotency-Key, the first request runs and its final answer is replayed to repeats; its
  // write carries a token derived from the key (the guard). With Prefer: respond-async, the
  // ticket is opened by a job (202 + the job's URL), whose id derives from the key.
  router.post('/tickets', validate('createTicket'), async (req, res) => {
    serviceWrite(req, res);
    const input = inputOf(res).body as TicketInput;
    const key = idempotencyKeyOf(req);
    const ctx = contextOf(res);
    const owner = principalOf(res).name;
    const work = async (guard?: WriteGuard): Promise<Answer> => {
      if (prefersAsync(req)) {
        const job = await ticketJobs.enqueue({ owner, input, traceparent: ownTraceparent(ctx.trace), ...(key === undefined ? {} : { idempotencyKey: key }) });
        return { status: 202, contentType: 'application/json', headers: { location: `/v1/jobs/${job.id}`, 'preference-applied': 'respond-async' }, body: { job }, jobId: job.id };
      }
      const result = await openTicket(input, optionsOf(res), guard);
      const location = `/v1/tickets/${encodeURIComponent((result.data as { id: string }).id)}`;
      return { status: 201, contentType: 'application/json', headers: { location }, body: envelope(res, result) };
    };
    if (key === undefined) return send(res, await work(), false);
    const { answer, isReplay } = await idempotency.run(
      { scope: 'createTicket', principal: owner, key, fingerprint: fingerprintOf(input), instance: req.originalUrl, traceId: ctx.trace.traceId, log: ctx.log },
      work,
    );
    // A replayed 202 shows the job as it is now; the job id is derived from the key.
    const fresh = isReplay && answer.jobId !== undefined ? await ticketJobs.find(answer.jobId, owner) : undefined;
    send(res, fresh ? { ...answer, body: { job: fresh } } : answer, isReplay);
  });

  router.post('/query', validate('query'), async (req, res, next) => {
    const { capability } = inputOf(res).body as { capability: string };
    if (capabilityKind(capability) !== 'command') return attributed(req, res, next);
    serviceWrite(req, res);
    next();
  }, async (_req, res) => {
    const body = inputOf(res).body as { capability: string; params?: Record<string, unknown> };
    const shape = jsonShapeProblem(body.params, QUERY_PARAMS_LIMITS);
    if (shape !== undefined) {
      throw new AppError('VALIDATION_FAILED', `body: params ${shape}`, { errors: [{ in: 'body', pointer: '/params', message: `params ${shape}` }] });
    }
    res.json(envelope(res, await query.call(body.capability, body.params ?? {}, optionsOf(res))));
  });

  return router;
}
