import { randomBytes } from 'node:crypto';

/** W3C Trace Context of one request, plus the gateway's own request id. */
export interface TraceContext {
  readonly traceId: string;
  /** The span of this gateway hop. */
  readonly spanId: string;
  readonly sampled: boolean;
  readonly requestId: string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

export const newSpanId = (): string => randomBytes(8).toString('hex');
export const newTraceId = (): string => randomBytes(16).toString('hex');

/** Continues the caller's `traceparent` when it is valid, else starts a new trace. */
export function startTrace(traceparent: string | undefined, requestId: string): TraceContext {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent.trim().toLowerCase());
  if (match && match[1] !== ZERO_TRACE && match[2] !== ZERO_SPAN) {
    const flags = Number.parseInt(match[3] ?? '01', 16);
    return { traceId: match[1] ?? newTraceId(), spanId: newSpanId(), sampled: (flags & 1) === 1, requestId };
  }
  return { traceId: newTraceId(), spanId: newSpanId(), sampled: true, requestId };
}

/** The `traceparent` for an outgoing call: same trace, a fresh span for the hop. */
export function childTraceparent(trace: TraceContext): string {
  return `00-${trace.traceId}-${newSpanId()}-${trace.sampled ? '01' : '00'}`;
}

/** The `traceparent` naming this gateway hop itself (for response headers). */
export function ownTraceparent(trace: TraceContext): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.sampled ? '01' : '00'}`;
}
