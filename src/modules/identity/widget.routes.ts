import { Router } from 'express';
import { inputOf, type createRequestValidator } from '../http/openapi-validator.ts';
import { contextOf } from '../http/request-context.ts';
import type { WidgetSessions } from './widget-sessions.ts';

export interface WidgetRoutesDeps {
  readonly sessions: WidgetSessions;
  readonly validate: ReturnType<typeof createRequestValidator>;
}

/** /v1/widget: public (a site's widget key, not an API key), called from the sites' pages. */
export function createWidgetRouter({ sessions, validate }: WidgetRoutesDeps): Router {
  const router = Router();
  router.post('/sessions', validate('createWidgetSession'), async (req, res) => {
    const body = (inputOf(res).body ?? {}) as { customerId?: string; customerHmac?: string; previousToken?: string };
    const ctx = contextOf(res);
    const origin = req.get('origin');
    const session = await sessions.open(
      { widgetKey: req.get('x-widget-key') ?? '', ip: req.ip ?? req.socket.remoteAddress ?? 'unknown', ...(origin === undefined ? {} : { origin }), ...body },
      { trace: ctx.trace, log: ctx.log, signal: ctx.signal },
    );
    res.status(201).json({ ...session, expiresAt: new Date(session.expiresAt).toISOString() });
  });
  return router;
}
