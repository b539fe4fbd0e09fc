import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayInstrumentations } from './instrumentations.ts';

/** The names of the instrumentations for `exporting`; each is disabled again, so none stays patched in this process. */
const names = (exporting: boolean) => {
  const made = gatewayInstrumentations({ exporting });
  for (const i of made) i.disable();
  return made.map((i) => i.instrumentationName).sort();
};

test('kafkajs, which carries the trace context in message headers, is always there; those that only add spans only when spans are exported', () => {
  assert.deepEqual(names(false), ['@opentelemetry/instrumentation-kafkajs']);
  assert.deepEqual(names(true), ['@opentelemetry/instrumentation-express', '@opentelemetry/instrumentation-http', '@opentelemetry/instrumentation-ioredis', '@opentelemetry/instrumentation-kafkajs']);
});
