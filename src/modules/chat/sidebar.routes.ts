import { Router } from 'express';
import { contextOf, principalOf } from '../http/request-context.ts';
import { inputOf, type createRequestValidator } from '../http/openapi-validator.ts';
import type { Sidebar } from './sidebar.service.ts';

export interface SidebarRoutesDeps {
  readonly sidebar: Sidebar;
  readonly validate: ReturnType<typeof createRequestValidator>;
}

/** GET /v1/conversations/{id}/context: the agent's sidebar (the customer's context and the bot's findings). */
export function createSidebarRouter({ sidebar, validate }: SidebarRoutesDeps): Router {
  const router = Router();
  router.get('/conversations/:conversationId/context', validate('getConversationContext'), async (_req, res) => {
    const { path, query } = inputOf(res);
    const ctx = contextOf(res);
    const limits = { orders: Number(query.ordersLimit), tickets: Number(query.ticketsLimit) };
    const answer = await sidebar.contextOf(principalOf(res), String(path.conversationId), limits, { trace: ctx.trace, log: ctx.log, signal: ctx.signal });
    res.json({ ...answer, traceId: ctx.trace.traceId });
  });
  return router;
}
