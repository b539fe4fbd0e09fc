/**
 * The instrumentations that only add spans when spans are exported (http, express, ioredis), by
 * the names OTEL_NODE_DISABLED_INSTRUMENTATIONS gives them (the package name without
 * `@opentelemetry/instrumentation-`, as auto-instrumentations-node reads it). kafkajs's is not
 * among them: it carries the trace context in Kafka headers, so it stays on.
 */
export const SPAN_ONLY_INSTRUMENTATIONS = ['http', 'express', 'ioredis'] as const;
export type SpanOnlyInstrumentation = (typeof SPAN_ONLY_INSTRUMENTATIONS)[number];
