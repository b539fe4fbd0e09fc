import type { NextFunction, Request, Response } from 'express';
import { AppError, toAppError, toProblem } from '../../kernel/errors.ts';
import { contextOf } from './request-context.ts';

/** Sends an error as RFC 9457 problem+json. */
export function sendProblem(res: Response, err: AppError, instance?: string): void {
  const ctx = contextOf(res);
  if (ctx) ctx.problem = err.code;
  const retryAfterMs = err.extensions.retryAfterMs;
  if (typeof retryAfterMs === 'number') res.setHeader('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  res.status(err.status).type('application/problem+json').json({ ...toProblem(err, instance), ...(ctx ? { traceId: ctx.trace.traceId } : {}) });
}

/** Body-parser failures, by their `type`, → the catalogue's codes. */
function fromBodyParser(err: { type?: string; status?: number; message?: string }): AppError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new AppError('MALFORMED_JSON', `the body is not valid JSON: ${err.message ?? ''}`.trim());
    case 'entity.too.large':
      return new AppError('PAYLOAD_TOO_LARGE', 'the body is larger than the gateway accepts');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', err.message ?? 'unsupported body encoding');
    default:
      return undefined;
  }
}

const QUIET_REFUSALS: ReadonlySet<string> = new Set(['CIRCUIT_OPEN', 'SHUTTING_DOWN']);

/** The last middleware: every error leaves as problem+json; unknown ones are logged with their cause. */
export function errorHandler() {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const error = (typeof err === 'object' && err !== null && fromBodyParser(err)) || toAppError(err);
    const log = contextOf(res)?.log;
    if (error.code === 'INTERNAL') log?.error({ err: error.cause ?? err }, 'unhandled error');
    // A refusal that protects a backend or the gateway (an open breaker, shutting down) is no news
    // per request: its cause is logged once when it starts, and the access line has its code.
    else if (error.status >= 500 && !QUIET_REFUSALS.has(error.code)) log?.warn({ code: error.code, connector: error.extensions.connector, detail: error.message }, 'request failed upstream');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendProblem(res, error, req.originalUrl);
  };
}

/** 404 for paths no route knows. */
export function routeNotFound() {
  return (req: Request, _res: Response, next: NextFunction): void => {
    next(new AppError('ROUTE_NOT_FOUND', `no endpoint ${req.method} ${req.path}`));
  };
}
