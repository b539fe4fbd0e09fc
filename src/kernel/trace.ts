import { randomBytes } from 'node:crypto';
import { context, isSpanContextValid, trace, TraceFlags, type Context, type Span, type SpanContext } from '@opentelemetry/api';

/**
 * The W3C trace context of one piece of work, plus the gateway's own request id: plain data, so
 * that it crosses a worker thread's message port. It names an OpenTelemetry span (see
 * src/kernel/telemetry.ts): the request's server span, a connector call's span, a worker's span.
 */
export interface TraceContext {
  readonly traceId: string;
  /** The span of this hop. */
  readonly spanId: string;
  readonly sampled: boolean;
  readonly requestId: string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

export const newSpanId = (): string => randomBytes(8).toString('hex');
export const newTraceId = (): string => randomBytes(16).toString('hex');

/** Whether a trace the thread starts without a parent is sampled: every one, unless telemetry set a sampler. */
let sampleNewTrace: (traceId: string) => boolean = () => true;
/** Set by startTelemetry when OTEL_TRACES_SAMPLER names a sampler, for the traces startTrace begins. */
export function sampleNewTracesWith(decide: (traceId: string) => boolean): void {
  sampleNewTrace = decide;
}

/** The trace context naming `span` (the active span when omitted); undefined when there is no valid one. */
export function traceOfSpan(span: Span | undefined = trace.getActiveSpan(), requestId: string): TraceContext | undefined {
  const sc = span?.spanContext();
  if (!sc || !isSpanContextValid(sc)) return undefined;
  return { traceId: sc.traceId, spanId: sc.spanId, sampled: (sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED, requestId };
}

/** The span context a trace context names, as a remote parent. */
export function spanContextOf(trace: TraceContext): SpanContext {
  return { traceId: trace.traceId, spanId: trace.spanId, traceFlags: trace.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE, isRemote: true };
}

/**
 * The context to start a child span of `of` in: the active one when its span belongs to the same
 * trace (a request's, a worker call's), else `of` as a remote parent (a job or a poller carrying
 * a trace context outside any span).
 */
export function parentContext(of: TraceContext, active: Context = context.active()): Context {
  const current = trace.getSpan(active)?.spanContext();
  if (current && isSpanContextValid(current) && current.traceId === of.traceId) return active;
  const sc = spanContextOf(of);
  return isSpanContextValid(sc) ? trace.setSpanContext(active, sc) : active;
}

/**
 * The trace context of work that continues the caller's `traceparent` (a job, a poll): the active
 * span when it continues that trace already (a job's span), else the caller's span itself, the
 * parent of what the work starts. A new trace when the header is missing or invalid.
 */
export function startTrace(traceparent: string | undefined, requestId: string): TraceContext {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent.trim().toLowerCase());
  if (match && match[1] !== ZERO_TRACE && match[2] !== ZERO_SPAN) {
    const active = traceOfSpan(undefined, requestId);
    if (active && active.traceId === match[1]) return active;
    const flags = Number.parseInt(match[3] ?? '01', 16);
    return { traceId: match[1] ?? newTraceId(), spanId: match[2] ?? newSpanId(), sampled: (flags & 1) === 1, requestId };
  }
  const traceId = newTraceId();
  return { traceId, spanId: newSpanId(), sampled: sampleNewTrace(traceId), requestId };
}

/** The W3C `traceparent` of a span context. */
export function formatTraceparent(sc: Pick<SpanContext, 'traceId' | 'spanId' | 'traceFlags'>): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? '01' : '00'}`;
}

/** The `traceparent` for an outgoing call outside any span: same trace, a fresh span id for the hop. */
export function childTraceparent(trace: TraceContext): string {
  return `00-${trace.traceId}-${newSpanId()}-${trace.sampled ? '01' : '00'}`;
}

/** The `traceparent` naming this hop itself (for response headers, and for jobs that continue it). */
export function ownTraceparent(trace: TraceContext): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.sampled ? '01' : '00'}`;
}
