import { randomUUID } from 'node:crypto';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace as otel, type Context, type Span } from '@opentelemetry/api';
import { getRPCMetadata } from '@opentelemetry/core';
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../kernel/errors.ts';
import { lazyChild, type Logger } from '../../kernel/logger.ts';
import type { Principal } from '../../kernel/principal.ts';
import { tracer } from '../../kernel/telemetry.ts';
import { ownTraceparent, startTrace, traceOfSpan, type TraceContext } from '../../kernel/trace.ts';

/** What every request carries through the gateway (res.locals.ctx). */
export interface RequestContext {
  readonly trace: TraceContext;
  readonly log: Logger;
  /** Aborted when the client goes away before the answer is sent. */
  readonly signal: AbortSignal;
  /** Who the request acts for; set by the authentication in front of the route. */
  principal?: Principal;
  /** The error code of a problem answer, for the access line. */
  problem?: string;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** The whole path, without the query (`req.path` is relative to the router that answered, by the time the answer is done). */
const pathOf = (url: string): string => {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
};

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
 * The request's server span: the one OpenTelemetry's http instrumentation opened (it continued
 * the caller's `traceparent`). Without it (spans not exported: src/kernel/instrumentations.ts; or
 * a gateway embedded in a test process, without `src/instrument.ts`) this middleware opens it,
 * from the same header, and ends it with the answer.
 */
function serverSpan(req: Request, res: Response): { span: Span; ctx: Context } {
  const active = context.active();
  const instrumented = getRPCMetadata(active)?.span;
  if (instrumented && instrumented.spanContext().traceId !== '0'.repeat(32)) return { span: instrumented, ctx: active };
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  const span = tracer().startSpan(req.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path } }, parent);
  res.once('close', () => {
    span.setAttribute('http.response.status_code', res.statusCode);
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  return { span, ctx: otel.setSpan(active, span) };
}

/**
 * Continues the W3C trace (the request's OpenTelemetry server span), names the request, gives it
 * a child logger with both ids, puts them in the response headers and logs one line when the
 * answer is done.
 */
export function requestContext(log: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const server = serverSpan(req, res);
    const trace = traceOfSpan(server.span, requestId) ?? startTrace(req.get('traceparent'), requestId);
    const controller = new AbortController();
    // 'close' on the response fires on completion too: only an unfinished answer means the client left.
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(new Error('client closed the connection'));
    });
    const ctx: RequestContext = { trace, log: lazyChild(log, { reqId: requestId, traceId: trace.traceId }), signal: controller.signal };
    res.locals.ctx = ctx;
    res.setHeader('x-request-id', requestId);
    res.setHeader('traceparent', ownTraceparent(trace));
    const started = performance.now();
    res.on('finish', () => {
      // From the root logger with the request's ids: the same line, without making the request's child logger.
      log.info(
        { reqId: requestId, traceId: trace.traceId, method: req.method, path: pathOf(req.originalUrl), status: res.statusCode, durationMs: Math.round(performance.now() - started), principal: ctx.principal?.name, code: ctx.problem },
        'request done',
      );
    });
    context.with(server.ctx, next);
  };
}
