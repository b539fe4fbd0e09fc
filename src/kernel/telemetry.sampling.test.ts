import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROOT_CONTEXT, TraceFlags } from '@opentelemetry/api';
import { startTelemetry, tracer } from './telemetry.ts';
import { startTrace } from './trace.ts';

// Its own file: startTelemetry registers this process's (this test file's) tracing once.
startTelemetry({ serviceName: 'sampling-test', exportDelayMs: 1_000, sampler: { name: 'parentbased_always_off' } });

test("the configured sampler decides every new trace: a span's, and one the gateway starts without a span (a poll, a catalogue read)", () => {
  assert.equal(tracer().startSpan('GET', {}, ROOT_CONTEXT).spanContext().traceFlags, TraceFlags.NONE);
  for (let i = 0; i < 20; i++) assert.equal(startTrace(undefined, `poll-${i}`).sampled, false);
  assert.equal(startTrace('not a traceparent', 'poll').sampled, false, 'an invalid header starts a new trace too');
});

test("a caller's trace keeps the caller's decision under a parent-based sampler", () => {
  const traceparent = (flags: string) => `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-${flags}`;
  assert.equal(startTrace(traceparent('01'), 'job').sampled, true);
  assert.equal(startTrace(traceparent('00'), 'job').sampled, false);
});
