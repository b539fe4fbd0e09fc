// Spans for a thread whose spans go nowhere (no OTLP endpoint configured). Each span still has
// its own span context, so that answers, log lines, jobs and backend calls carry the same W3C trace
// context as when spans are exported: a new span id, the parent's trace id, sampled flag and
// trace state (a new, sampled trace when there is no valid parent), as the SDK's default sampler
// (parent-based, always on) would give; with another sampler configured (OTEL_TRACES_SAMPLER),
// the sampled flag and trace state are what that sampler decides, as with an exporter. What the
// SDK would record (names, attributes, events, status, times) is not kept: nothing would read it,
// and recording it was ~15 % of a read's main-thread CPU (bench/README.md).
import { context, isSpanContextValid, trace, TraceFlags, type Context, type Span, type SpanOptions, type Tracer, type TracerProvider, type TraceState } from '@opentelemetry/api';
import { RandomIdGenerator, type Sampler } from '@opentelemetry/sdk-trace';
import { sampledBy } from './sampling.ts';

class PropagatingTracer implements Tracer {
  private readonly ids = new RandomIdGenerator();

  /** Without a sampler: the parent's flag, else sampled (the default sampler, without calling it). */
  private readonly sampler: Sampler | undefined;

  constructor(sampler?: Sampler) {
    this.sampler = sampler;
  }

  startSpan(name: string, options?: SpanOptions, ctx: Context = context.active()): Span {
    const candidate = options?.root ? undefined : trace.getSpanContext(ctx);
    const parent = candidate && isSpanContextValid(candidate) ? candidate : undefined;
    const traceId = parent?.traceId ?? this.ids.generateTraceId();
    const { traceFlags, traceState } = this.sampler
      ? decide(this.sampler, name, options, parent ? ctx : trace.deleteSpan(ctx), traceId, parent?.traceState)
      : { traceFlags: parent ? parent.traceFlags & TraceFlags.SAMPLED : TraceFlags.SAMPLED, traceState: parent?.traceState };
    return trace.wrapSpanContext({ traceId, spanId: this.ids.generateSpanId(), traceFlags, ...(traceState ? { traceState } : {}) });
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, ctx: Context, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, a: SpanOptions | F, b?: Context | F, c?: F): ReturnType<F> {
    const [options, ctx, fn] = typeof a === 'function' ? [undefined, undefined, a] : typeof b === 'function' ? [a, undefined, b] : [a, b, c as F];
    const parent = ctx ?? context.active();
    const span = this.startSpan(name, options, parent);
    return context.with(trace.setSpan(parent, span), fn as (span: Span) => ReturnType<F>, undefined, span);
  }
}

/** The sampler's decision, as the SDK's tracer takes it: its flag, and its trace state else the parent's. */
function decide(sampler: Sampler, name: string, options: SpanOptions | undefined, ctx: Context, traceId: string, parentState: TraceState | undefined): { traceFlags: TraceFlags; traceState: TraceState | undefined } {
  const { sampled, result } = sampledBy(sampler, ctx, traceId, name, options);
  return { traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE, traceState: result.traceState ?? parentState };
}

/** The tracer provider of a thread that exports no spans: one tracer, whatever its name. */
export function propagatingTracerProvider(sampler?: Sampler): TracerProvider {
  const tracer = new PropagatingTracer(sampler);
  return { getTracer: () => tracer };
}
