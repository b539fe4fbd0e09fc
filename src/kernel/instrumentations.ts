import type { Instrumentation } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';

/** Probes and scrapes: a span each would bury the traces that matter. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The gateway's instrumentations: a server span per HTTP request (and a client span per outgoing
 * one), and kafkajs's produce/consume spans; both carry the trace context on (`traceparent` of
 * outgoing requests, Kafka message headers). When spans are exported (`exporting`), also express's
 * request-handler span with its route (none per middleware or router) and the ioredis commands
 * made inside a traced piece of work: those only add spans, which nothing would see otherwise,
 * and they wrapped every layer and command (~3 % of a read's main-thread CPU).
 */
export function gatewayInstrumentations(options: { readonly exporting: boolean }): Instrumentation[] {
  return [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.has((req.url ?? '').split('?')[0] ?? ''),
      requireParentforOutgoingSpans: true,
    }),
    new KafkaJsInstrumentation(),
    ...(options.exporting
      ? [new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER] }), new IORedisInstrumentation({ requireParentSpan: true })]
      : []),
  ];
}
