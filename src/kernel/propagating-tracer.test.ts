import assert from 'node:assert/strict';
import { test } from 'node:test';
import { context, propagation, ROOT_CONTEXT, trace, TraceFlags, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { propagatingTracerProvider } from './propagating-tracer.ts';
import { samplerOf } from './sampling.ts';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const tracer = propagatingTracerProvider().getTracer('omnigate');

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN = '00f067aa0ba902b7';
const remote = (flags: string, tracestate?: string) =>
  propagation.extract(ROOT_CONTEXT, { traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-${flags}`, ...(tracestate ? { tracestate } : {}) });
const traceparentOf = (span: Span) => {
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  return carrier;
};

test('a span without a parent starts a new, sampled trace and records nothing', () => {
  const a = tracer.startSpan('GET', {}, ROOT_CONTEXT);
  const b = tracer.startSpan('GET', {}, ROOT_CONTEXT);
  assert.match(traceparentOf(a).traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.notEqual(a.spanContext().traceId, b.spanContext().traceId);
  assert.notEqual(a.spanContext().spanId, b.spanContext().spanId);
  assert.equal(a.isRecording(), false);
  // What the code calls on a span is accepted and kept nowhere.
  a.setAttribute('k', 'v').setStatus({ code: 2 }).recordException(new Error('x'));
  a.end();
});

test("a child continues its parent's trace with a span id of its own, and the parent's sampled flag and trace state", () => {
  const sampled = tracer.startSpan('GET', {}, remote('01', 'vendor=1'));
  assert.equal(sampled.spanContext().traceId, TRACE_ID);
  assert.notEqual(sampled.spanContext().spanId, PARENT_SPAN);
  assert.equal(sampled.spanContext().traceFlags, TraceFlags.SAMPLED);
  const carried = traceparentOf(sampled);
  assert.match(carried.traceparent ?? '', new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
  assert.equal(carried.tracestate, 'vendor=1');

  const unsampled = tracer.startSpan('GET', {}, remote('00'));
  assert.equal(unsampled.spanContext().traceId, TRACE_ID);
  assert.match(traceparentOf(unsampled).traceparent ?? '', new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-00$`));

  const root = tracer.startSpan('job', { root: true }, remote('01'));
  assert.notEqual(root.spanContext().traceId, TRACE_ID, 'root: true ignores the parent');
});

test('startActiveSpan makes the span active for fn, in each of its three forms, and returns what fn returns', async () => {
  const seen: string[] = [];
  const outer = tracer.startActiveSpan('outer', (span) => {
    assert.equal(trace.getActiveSpan(), span);
    seen.push(span.spanContext().traceId);
    return 'plain';
  });
  assert.equal(outer, 'plain');
  const withOptions = await tracer.startActiveSpan('call', { attributes: { a: 1 } }, async (parent) => {
    await new Promise((resolve) => setImmediate(resolve));
    // The child, after an await, still sees its parent as active and continues its trace.
    return tracer.startActiveSpan('child', { root: false }, remote('01'), (child) => {
      assert.equal(trace.getActiveSpan(), child);
      return [parent.spanContext().traceId, trace.getActiveSpan()?.spanContext().traceId];
    });
  });
  assert.equal(withOptions[1], TRACE_ID, 'an explicit context is the parent');
  const nested = tracer.startActiveSpan('a', (a) => tracer.startActiveSpan('b', (b) => [a.spanContext(), b.spanContext()]));
  assert.equal(nested[0]?.traceId, nested[1]?.traceId);
  assert.notEqual(nested[0]?.spanId, nested[1]?.spanId);
  assert.equal(trace.getActiveSpan(), undefined, 'nothing stays active after fn');
  assert.equal(seen.length, 1);
});

test('with a sampler configured, the sampled flag is what it decides, as it would be with an exporter', () => {
  const sampledFlag = (sampler: Parameters<typeof samplerOf>[0], parent = ROOT_CONTEXT) =>
    propagatingTracerProvider(samplerOf(sampler)).getTracer('omnigate').startSpan('GET', {}, parent).spanContext().traceFlags;
  const none = { name: 'parentbased_traceidratio', ratio: 0 } as const;
  assert.equal(sampledFlag(none), TraceFlags.NONE, 'a new trace at ratio 0 is not sampled');
  assert.equal(sampledFlag(none, remote('01')), TraceFlags.SAMPLED, "parent-based: a sampled caller's trace is");
  assert.equal(sampledFlag(none, remote('00')), TraceFlags.NONE);
  assert.equal(sampledFlag({ name: 'parentbased_traceidratio', ratio: 1 }), TraceFlags.SAMPLED);
  assert.equal(sampledFlag({ name: 'always_off' }, remote('01')), TraceFlags.NONE, 'always_off ignores the parent');
  assert.equal(sampledFlag({ name: 'always_on' }, remote('00')), TraceFlags.SAMPLED, 'always_on ignores the parent');
  // A child keeps its parent's trace whatever the decision; root: true starts a new one.
  const tracer = propagatingTracerProvider(samplerOf(none)).getTracer('omnigate');
  assert.equal(tracer.startSpan('GET', {}, remote('01')).spanContext().traceId, TRACE_ID);
  const root = tracer.startSpan('job', { root: true }, remote('01'));
  assert.notEqual(root.spanContext().traceId, TRACE_ID);
  assert.equal(root.spanContext().traceFlags, TraceFlags.NONE, 'root: true asks the root sampler, not the parent');
  // A ratio between keeps about that share of new traces, by trace id.
  const half = propagatingTracerProvider(samplerOf({ name: 'traceidratio', ratio: 0.5 })).getTracer('omnigate');
  let sampled = 0;
  for (let i = 0; i < 2_000; i++) sampled += half.startSpan('GET', {}, ROOT_CONTEXT).spanContext().traceFlags;
  assert.ok(sampled > 800 && sampled < 1_200, `${sampled} of 2000`);
});
