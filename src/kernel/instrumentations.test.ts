import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayInstrumentations } from './instrumentations.ts';

const names = (exporting: boolean) => gatewayInstrumentations({ exporting }).map((i) => i.instrumentationName).sort();

test('kafkajs, which carries the trace context in message headers, is always there; those that only add spans only when spans are exported', () => {
  assert.deepEqual(names(false), ['@opentelemetry/instrumentation-kafkajs']);
  assert.deepEqual(names(true), ['@opentelemetry/instrumentation-express', '@opentelemetry/instrumentation-http', '@opentelemetry/instrumentation-ioredis', '@opentelemetry/instrumentation-kafkajs']);
  for (const i of gatewayInstrumentations({ exporting: true })) i.disable();
});
