import { context, isSpanContextValid, SpanKind, SpanStatusCode, trace as otel, type Span } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { formatTraceparent, parentContext, type TraceContext } from '../kernel/trace.ts';
import { BadUpstreamDataError, UpstreamTimeoutError, UpstreamUnavailableError } from './errors.ts';
import { send, sharedPools, toHeaders, type Pools, type RawReply } from './transport.ts';
import type { Authenticator } from './types.ts';

/** A request as an authenticator sees it, just before it is sent. */
export interface OutgoingRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Record<string, string>;
  /** The exact bytes of the body, for signatures. */
  readonly body: string | undefined;
  /** Aborted when the call is: an authenticator that waits (for a token, say) must stop then. */
  readonly signal?: AbortSignal;
  /** Whatever the authenticator wants to remember about this request (the token it used, say). */
  authState?: unknown;
}

export interface HttpRequest {
  readonly method?: string;
  /** Path relative to the connector's `baseUrl`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as JSON. */
  readonly json?: unknown;
  /** Sent as `application/x-www-form-urlencoded`. */
  readonly form?: Readonly<Record<string, string>>;
  /** Aborts this request too (besides the client's own signal), e.g. a deadline of its own. */
  readonly signal?: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON, or undefined for an empty body. */
  readonly body: unknown;
  readonly durationMs: number;
}

/** The HTTP client a connector gets. Non-2xx statuses are returned, not thrown: the connector maps them. */
export interface HttpClient {
  request(request: HttpRequest): Promise<HttpResponse>;
}

export interface HttpClientOptions {
  readonly baseUrl: string;
  /** The connector's keep-alive pools; a shared set when absent. */
  readonly pools?: Pools;
  readonly log: Logger;
  readonly authenticator?: Authenticator;
  readonly signal?: AbortSignal;
  /** The call's trace: each request is a client span under it, and carries that span's `traceparent`. */
  readonly trace?: TraceContext;
}

/** The tracer of the SDK's client spans. */
const TRACER = 'omnigate-connector-sdk';

/** The reason a call's deadline aborts it with, so the client can tell a timeout from a caller leaving. */
export class DeadlineExceeded extends Error {
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`deadline of ${timeoutMs} ms exceeded`);
    this.timeoutMs = timeoutMs;
    this.name = 'DeadlineExceeded';
  }
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const { baseUrl, log, authenticator, signal, trace } = options;
  const pools = options.pools ?? sharedPools();

  /**
   * One request as a CLIENT span (OpenTelemetry's semantic conventions), child of the active span
   * (the worker's span of the call) or of `trace`; a request outside any trace (a health check)
   * makes none.
   */
  async function traced(request: HttpRequest, attempt: number): Promise<HttpResponse> {
    const active = otel.getSpan(context.active())?.spanContext();
    if (!trace && !(active && isSpanContextValid(active))) return exchange(request, attempt);
    const method = request.method ?? 'GET';
    const parent = trace ? parentContext(trace) : context.active();
    return otel.getTracer(TRACER).startActiveSpan(method, { kind: SpanKind.CLIENT, attributes: { 'http.request.method': method } }, parent, async (span) => {
      try {
        const response = await exchange(request, attempt, span);
        span.setAttribute('http.response.status_code', response.status);
        if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        return response;
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        throw err;
      } finally {
        span.end();
      }
    });
  }

  async function exchange(request: HttpRequest, attempt: number, span?: Span): Promise<HttpResponse> {
    const url = new URL(request.path.replace(/^\//, ''), baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
    let body: string | undefined;
    if (request.json !== undefined) {
      body = JSON.stringify(request.json);
      headers['content-type'] = 'application/json';
    } else if (request.form !== undefined) {
      body = new URLSearchParams(request.form as Record<string, string>).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    if (span) {
      headers.traceparent = formatTraceparent(span.spanContext());
      if (span.isRecording()) span.setAttributes({ 'url.full': `${url.origin}${url.pathname}`, 'server.address': url.hostname, 'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)) });
    }
    const callSignal = request.signal && signal ? AbortSignal.any([request.signal, signal]) : (request.signal ?? signal);
    const outgoing: OutgoingRequest = { method: request.method ?? 'GET', url, headers, body, ...(callSignal ? { signal: callSignal } : {}) };
    try {
      await authenticator?.authorize(outgoing);
    } catch (err) {
      if (callSignal?.aborted && callSignal.reason instanceof DeadlineExceeded) {
        throw new UpstreamTimeoutError(`credentials for ${outgoing.method} ${url.pathname} were not ready within ${callSignal.reason.timeoutMs} ms`, { cause: err });
      }
      throw err;
    }

    const started = performance.now();
    const target = `${outgoing.method} ${url.pathname}`;
    let reply: RawReply;
    try {
      reply = await send(url, { method: outgoing.method, headers, body, signal: callSignal, pools });
    } catch (err) {
      const durationMs = Math.round(performance.now() - started);
      log.warn({ target, durationMs, err: callSignal?.reason ?? err }, 'upstream call failed');
      if (callSignal?.aborted && callSignal.reason instanceof DeadlineExceeded) {
        throw new UpstreamTimeoutError(`${target} did not answer within ${callSignal.reason.timeoutMs} ms`, { cause: err });
      }
      if (callSignal?.aborted) throw new UpstreamUnavailableError(`${target} was abandoned: the caller went away`, { abandoned: true }, { cause: err });
      throw new UpstreamUnavailableError(`${target} could not be reached`, {}, { cause: err });
    }

    if (reply.status === 401 && attempt === 0 && authenticator?.invalidate?.(outgoing)) {
      log.info({ target }, 'upstream refused credentials; refreshing once');
      return traced(request, 1);
    }

    const durationMs = Math.round(performance.now() - started);
    // At debug: the access line ("request done") is the one line per request at info; a failed call warns.
    log.debug({ target, status: reply.status, durationMs }, 'upstream call');
    let parsed: unknown;
    if (reply.text.length > 0) {
      try {
        parsed = JSON.parse(reply.text);
      } catch (err) {
        throw new BadUpstreamDataError('(body)', `${target} answered ${reply.status} with a body that is not JSON`, { cause: err });
      }
    }
    return { status: reply.status, headers: toHeaders(reply.headers), body: parsed, durationMs };
  }

  return { request: (request) => traced(request, 0) };
}
