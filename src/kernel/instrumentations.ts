import type { Instrumentation } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import type { SpanOnlyInstrumentation } from './instrumentation-names.ts';

/** Probes and scrapes: a span each would bury the traces that matter. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The gateway's instrumentations: kafkajs's produce/consume spans, which carry the trace context
 * in the message headers; and, when spans are exported (`exporting`), a server span per HTTP
 * request (and a client span per outgoing one), express's request-handler span with its route
 * (none per middleware or router) and the ioredis commands made inside a traced piece of work.
 * Those only add spans, which nothing would see without an exporter, and they cost ~15 % of a
 * read's main-thread CPU (bench/README.md): without them the request's server span is
 * requestContext's own, continuing the caller's `traceparent` all the same, and the gateway sets
 * `traceparent` itself on what it sends (connector calls, the proxy, jobs). Those named in
 * `disabled` (OTEL_NODE_DISABLED_INSTRUMENTATIONS) are left off when exporting too.
 */
export function gatewayInstrumentations(options: { readonly exporting: boolean; readonly disabled?: readonly SpanOnlyInstrumentation[] }): Instrumentation[] {
  if (!options.exporting) return [new KafkaJsInstrumentation()];
  const on = (name: SpanOnlyInstrumentation) => !options.disabled?.includes(name);
  return [
    ...(on('http') ? [new HttpInstrumentation({
      ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.has((req.url ?? '').split('?')[0] ?? ''),
      requireParentforOutgoingSpans: true,
    })] : []),
    new KafkaJsInstrumentation(),
    ...(on('express') ? [new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER] })] : []),
    ...(on('ioredis') ? [new IORedisInstrumentation({ requireParentSpan: true })] : []),
  ];
}
