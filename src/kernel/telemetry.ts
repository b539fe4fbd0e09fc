// OpenTelemetry for the gateway and for each connector's worker thread: one tracer provider per
// thread (the OTel API's globals are per thread, so this module keeps the one it registered),
// W3C trace context, AsyncLocalStorage for the active span, and OTLP/HTTP export only when an
// endpoint is configured. Spans are made either way: the trace id of every answer, log line and
// backend call is the active span's. Without an endpoint they only carry that context
// (src/kernel/propagating-tracer.ts): recording what nothing exports was ~15 % of a read's CPU.
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { isAppError } from './errors.ts';
import { propagatingTracerProvider } from './propagating-tracer.ts';
import { sampledBy, samplerOf, type TraceSampler } from './sampling.ts';
import { sampleNewTracesWith } from './trace.ts';

/** Span attribute naming the conversation a span works for (BOT-CONTRACT). */
export const ATTR_CONVERSATION_ID = 'omnigate.conversation.id';
/** Span attribute: the message's seq in its conversation. */
export const ATTR_MESSAGE_SEQ = 'omnigate.message.seq';
/** The tracer the gateway's own spans (ws frames, connector calls, jobs) come from. */
export const TRACER_NAME = 'omnigate';

/** What a thread's telemetry needs (the gateway's TelemetryConfig; a worker gets its own service name). */
export interface TelemetryOptions {
  readonly serviceName: string;
  /** OTLP/HTTP base URL; spans are exported only when it is set. */
  readonly otlpEndpoint?: string;
  readonly exportDelayMs: number;
  /** Which traces are sampled; OpenTelemetry's default (parent-based, always on) when absent. */
  readonly sampler?: TraceSampler;
  /** Instrumentations to enable (the gateway's: http, express, ioredis, kafkajs); none in a worker. */
  readonly instrumentations?: readonly Instrumentation[];
}

/** The thread's tracing, once started. */
export interface Telemetry {
  readonly serviceName: string;
  /** True when finished spans leave the process (an OTLP endpoint is configured). */
  readonly exporting: boolean;
  /** Sends the spans finished so far (before a process exits, say). */
  flush(): Promise<void>;
}

let started: Telemetry | undefined;

/**
 * Registers the tracer provider, the W3C propagator and the context manager of this thread, and
 * enables `instrumentations`. Once per thread: a second call (an embedded gateway after
 * `src/instrument.ts`, a test's second gateway) returns the first one's telemetry.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (started) return started;
  const exporting = Boolean(options.otlpEndpoint);
  const sampler = options.sampler ? samplerOf(options.sampler) : undefined;
  const sdk = exporting
    ? new TracerProvider({
        resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
        spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${options.otlpEndpoint}/v1/traces` }), scheduledDelayMillis: options.exportDelayMs })],
        ...(sampler ? { sampler } : {}),
      })
    : undefined;
  const provider = sdk ?? propagatingTracerProvider(sampler);
  // Traces the gateway starts without a span (a poll, a catalogue read) are sampled as a root span would be.
  if (sampler) sampleNewTracesWith((traceId) => sampledBy(sampler, ROOT_CONTEXT, traceId, 'trace').sampled);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  if (options.instrumentations?.length) registerInstrumentations({ instrumentations: [...options.instrumentations], tracerProvider: provider });
  started = {
    serviceName: options.serviceName,
    exporting,
    flush: async () => void (await sdk?.forceFlush().catch(() => undefined)),
  };
  return started;
}

/** The tracer of the gateway's own spans. */
export const tracer = () => trace.getTracer(TRACER_NAME);

/** `omnigate.conversation.id` / `omnigate.message.seq` for a span, when the work is for a conversation. */
export function conversationAttributes(conversation: { readonly conversationId: string; readonly messageSeq?: number } | undefined): Attributes {
  if (!conversation) return {};
  return { [ATTR_CONVERSATION_ID]: conversation.conversationId, ...(conversation.messageSeq === undefined ? {} : { [ATTR_MESSAGE_SEQ]: conversation.messageSeq }) };
}

/**
 * Runs `fn` in a new span, child of the active one, and ends it when `fn` settles (an error
 * marks the span failed and is rethrown).
 */
export function inSpan<T>(name: string, options: { kind?: SpanKind; attributes?: Attributes }, fn: (span: Span) => Promise<T>, parent: Context = context.active()): Promise<T> {
  return tracer().startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, ...(options.attributes ? { attributes: options.attributes } : {}) }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      // A known failure (a refusal, the backend's own error) is its code and message: formatting its
      // stack would cost more than the refusal itself, and says nothing the code does not.
      span.recordException(isAppError(err) && err.code !== 'INTERNAL' ? { name: err.code, message: err.message } : err instanceof Error ? err : new Error(String(err)));
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The context a W3C `traceparent` (and `tracestate`) names, as a remote parent; the root context when absent or invalid. */
export function contextOfTraceparent(traceparent: string | undefined, tracestate?: string): Context {
  if (!traceparent) return ROOT_CONTEXT;
  const carrier: Record<string, string> = { traceparent, ...(tracestate ? { tracestate } : {}) };
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/**
 * Continues a trace that crossed a queue or a thread: runs `fn` in a span named `name` whose
 * parent is `traceparent` (a new trace when it is absent or invalid). The job queues do it for
 * every job (`job <type>`); work inside a job is a plain `inSpan` child of that span.
 */
export function withRemoteParent<T>(traceparent: string | undefined, name: string, attributes: Attributes, fn: (span: Span) => Promise<T>, kind: SpanKind = SpanKind.CONSUMER): Promise<T> {
  return inSpan(name, { kind, attributes }, fn, contextOfTraceparent(traceparent));
}

/** The W3C `traceparent` of the active span (what a job or a message should carry on), or undefined outside any span. */
export function traceparentOfActive(ctx: Context = context.active()): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent;
}

/** Adds attributes to the active span, if there is one (the conversation a query works for, say). */
export function annotateActive(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

export { SpanKind, SpanStatusCode, type Attributes, type Span };
