import { Router } from 'express';
import type { createRequestValidator } from '../http/openapi-validator.ts';
import { principalOf } from '../http/request-context.ts';
import type { WsTickets } from './ws-tickets.ts';

export interface WsTicketsRoutesDeps {
  readonly tickets: WsTickets;
  readonly validate: ReturnType<typeof createRequestValidator>;
}

/** POST /v1/ws/tickets (mounted on /v1/ws behind the chat authentication): a single-use ticket for the upgrade. */
export function createWsTicketsRouter({ tickets, validate }: WsTicketsRoutesDeps): Router {
  const router = Router();
  router.post('/tickets', validate('createWsTicket'), async (_req, res) => {
    const { ticket, expiresAt } = await tickets.issue(principalOf(res));
    res.status(201).json({ ticket, expiresAt: new Date(expiresAt).toISOString() });
  });
  return router;
}
