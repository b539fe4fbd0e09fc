import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayInstrumentations } from './instrumentations.ts';

/** The names of the instrumentations for `exporting`; each is disabled again, so none stays patched in this process. */
const names = (exporting: boolean, disabled?: Parameters<typeof gatewayInstrumentations>[0]['disabled']) => {
  const made = gatewayInstrumentations({ exporting, ...(disabled ? { disabled } : {}) });
  for (const i of made) i.disable();
  return made.map((i) => i.instrumentationName).sort();
};

test('kafkajs, which carries the trace context in message headers, is always there; those that only add spans only when spans are exported', () => {
  assert.deepEqual(names(false), ['@opentelemetry/instrumentation-kafkajs']);
  assert.deepEqual(names(true), ['@opentelemetry/instrumentation-express', '@opentelemetry/instrumentation-http', '@opentelemetry/instrumentation-ioredis', '@opentelemetry/instrumentation-kafkajs']);
});

test('OTEL_NODE_DISABLED_INSTRUMENTATIONS leaves those that only add spans off when exporting; kafkajs stays', () => {
  assert.deepEqual(names(true, ['express', 'ioredis']), ['@opentelemetry/instrumentation-http', '@opentelemetry/instrumentation-kafkajs']);
  assert.deepEqual(names(true, ['http', 'express', 'ioredis']), ['@opentelemetry/instrumentation-kafkajs']);
  assert.deepEqual(names(false, ['http']), ['@opentelemetry/instrumentation-kafkajs']);
});
