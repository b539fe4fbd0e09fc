import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../kernel/errors.ts';
import type { WidgetKeys } from './widget-keys.ts';

const ALLOW_HEADERS = 'authorization, content-type, x-widget-key, idempotency-key, x-request-id, traceparent';
const EXPOSE_HEADERS = 'x-request-id, traceparent, ratelimit-limit, ratelimit-remaining, retry-after';
/** How long a browser may reuse a preflight's answer. */
const PREFLIGHT_MAX_AGE_S = 600;

/**
 * CORS for what widgets call from the sites' pages (widget sessions, WebSocket tickets, the
 * conversations): an origin some widget key allows gets the CORS headers, and its preflight
 * (OPTIONS) is answered here, before authentication (a preflight carries no credentials); a
 * preflight from any other origin is 403 ORIGIN_NOT_ALLOWED. Which site's origins a request
 * must come from is checked after: by the widget key (sessions) or the visitor token (the rest).
 */
export function createWidgetCors(widgetKeys: WidgetKeys, methods: readonly string[]) {
  const allowMethods = [...methods, 'OPTIONS'].join(', ');
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.get('origin');
    if (origin === undefined) return next();
    res.append('vary', 'Origin');
    const allowed = widgetKeys.anyAllows(origin);
    if (allowed) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-expose-headers', EXPOSE_HEADERS);
    }
    if (req.method !== 'OPTIONS') return next();
    if (!allowed) return next(new AppError('ORIGIN_NOT_ALLOWED', `no widget key allows the origin ${origin}`));
    res.setHeader('access-control-allow-methods', allowMethods);
    res.setHeader('access-control-allow-headers', ALLOW_HEADERS);
    res.setHeader('access-control-max-age', String(PREFLIGHT_MAX_AGE_S));
    res.status(204).end();
  };
}
