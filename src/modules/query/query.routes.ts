import { Router, type Request, type Response } from 'express';
import { AppError } from '../../kernel/errors.ts';
import { contextOf } from '../http/request-context.ts';
import { inputOf, type createRequestValidator } from '../http/openapi-validator.ts';
import type { ContextService } from './context.service.ts';
import type { CallOptions, QueryResult, QueryService } from './query.service.ts';

export interface QueryRoutesDeps {
  readonly query: QueryService;
  readonly context: ContextService;
  readonly validate: ReturnType<typeof createRequestValidator>;
}

const optionsOf = (res: Response): CallOptions => {
  const ctx = contextOf(res);
  return { trace: ctx.trace, log: ctx.log, signal: ctx.signal };
};

const envelope = (res: Response, result: QueryResult) => ({ ...result, traceId: contextOf(res).trace.traceId });

/** The unified query API: resources over the canonical model, the context view and POST /v1/query. */
export function createQueryRouter({ query, context, validate }: QueryRoutesDeps): Router {
  const router = Router();

  /** The customer's id in another system, from the CRM (the customer master), and the CRM's answer. */
  async function externalId(res: Response, customerId: string, system: string): Promise<{ id: string | undefined; lookup: QueryResult }> {
    const lookup = await query.call('customer.get', { id: customerId }, optionsOf(res));
    return { id: (lookup.data as { externalIds: Record<string, string> }).externalIds[system], lookup };
  }

  router.get('/customers', validate('listCustomers'), async (_req: Request, res: Response) => {
    const { query: q } = inputOf(res);
    res.json(envelope(res, await query.call('customer.list', q, optionsOf(res))));
  });

  router.get('/customers/:id', validate('getCustomer'), async (_req, res) => {
    res.json(envelope(res, await query.call('customer.get', { id: inputOf(res).path.id }, optionsOf(res))));
  });

  // A customer without an account in a system has nothing there: an empty page, sourced from the CRM.
  router.get('/customers/:id/orders', validate('listCustomerOrders'), async (_req, res) => {
    const { path, query: q } = inputOf(res);
    const { id: customerRef, lookup } = await externalId(res, String(path.id), 'orders');
    if (customerRef === undefined) {
      res.json(envelope(res, { capability: 'order.list', data: { items: [], page: { number: q.page, size: q.pageSize, totalItems: 0, hasMore: false } }, source: lookup.source }));
      return;
    }
    res.json(envelope(res, await query.call('order.list', { customerRef, ...q }, optionsOf(res))));
  });

  router.get('/customers/:id/tickets', validate('listCustomerTickets'), async (_req, res) => {
    const { path, query: q } = inputOf(res);
    const { id: requesterRef, lookup } = await externalId(res, String(path.id), 'tickets');
    if (requesterRef === undefined) {
      res.json(envelope(res, { capability: 'ticket.list', data: { items: [], page: { size: q.pageSize, hasMore: false } }, source: lookup.source }));
      return;
    }
    res.json(envelope(res, await query.call('ticket.list', { requesterRef, ...q }, optionsOf(res))));
  });

  router.get('/customers/:id/context', validate('getCustomerContext'), async (_req, res) => {
    const { path, query: q } = inputOf(res);
    const answer = await context.customerContext(String(path.id), { orders: Number(q.ordersLimit), tickets: Number(q.ticketsLimit) }, optionsOf(res));
    res.json({ ...answer, traceId: contextOf(res).trace.traceId });
  });

  router.get('/orders/:id', validate('getOrder'), async (_req, res) => {
    res.json(envelope(res, await query.call('order.get', { id: inputOf(res).path.id }, optionsOf(res))));
  });

  router.get('/tickets/:id', validate('getTicket'), async (_req, res) => {
    res.json(envelope(res, await query.call('ticket.get', { id: inputOf(res).path.id }, optionsOf(res))));
  });

  router.post('/tickets', validate('createTicket'), async (_req, res) => {
    const body = inputOf(res).body as { customerId: string; subject: string; description: string; priority?: string };
    const { customerId, ...ticket } = body;
    const { id: requesterRef } = await externalId(res, customerId, 'tickets');
    if (requesterRef === undefined) throw new AppError('NOT_FOUND', `customer ${customerId} has no account in the tickets system`);
    const result = await query.call('ticket.create', { requesterRef, ...ticket }, optionsOf(res));
    res.status(201).location(`/v1/tickets/${encodeURIComponent((result.data as { id: string }).id)}`).json(envelope(res, result));
  });

  router.post('/query', validate('query'), async (_req, res) => {
    const body = inputOf(res).body as { capability: string; params?: Record<string, unknown> };
    res.json(envelope(res, await query.call(body.capability, body.params ?? {}, optionsOf(res))));
  });

  return router;
}
