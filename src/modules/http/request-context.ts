import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { Principal } from '../../kernel/principal.ts';
import { ownTraceparent, startTrace, type TraceContext } from '../../kernel/trace.ts';

/** What every request carries through the gateway (res.locals.ctx). */
export interface RequestContext {
  readonly trace: TraceContext;
  readonly log: Logger;
  /** Aborted when the client goes away before the answer is sent. */
  readonly signal: AbortSignal;
  /** Who the request acts for; set by the authentication in front of the route. */
  principal?: Principal;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function contextOf(res: Response): RequestContext {
  return res.locals.ctx as RequestContext;
}

/** The principal of an authenticated route; a route mounted without authentication is a bug, not 'unknown'. */
export function principalOf(res: Response): Principal {
  const { principal } = contextOf(res);
  if (!principal) throw new AppError('UNAUTHENTICATED', 'this route needs a key');
  return principal;
}

/**
 * Starts (or continues) the W3C trace, names the request, gives it a child logger with both ids,
 * puts them in the response headers and logs one line when the answer is done.
 */
export function requestContext(log: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const trace = startTrace(req.get('traceparent'), requestId);
    const controller = new AbortController();
    // 'close' on the response fires on completion too: only an unfinished answer means the client left.
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(new Error('client closed the connection'));
    });
    const ctx: RequestContext = { trace, log: log.child({ reqId: requestId, traceId: trace.traceId }), signal: controller.signal };
    res.locals.ctx = ctx;
    res.setHeader('x-request-id', requestId);
    res.setHeader('traceparent', ownTraceparent(trace));
    const started = performance.now();
    res.on('finish', () => {
      ctx.log.info(
        { method: req.method, path: req.path, status: res.statusCode, durationMs: Math.round(performance.now() - started), principal: ctx.principal?.name },
        'request done',
      );
    });
    next();
  };
}
