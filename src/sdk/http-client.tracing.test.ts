import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { context, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { pino } from 'pino';
import { startTrace } from '../kernel/trace.ts';
import { createHttpClient } from './http-client.ts';

// A real tracer provider whose finished spans are kept in memory, and a loopback backend that
// records the traceparent it receives.
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
trace.setGlobalTracerProvider(provider);
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const log = pino({ level: 'silent' });
const received: (string | undefined)[] = [];
const server = createServer((req, res) => {
  received.push(req.headers.traceparent as string | undefined);
  res.writeHead(503, { 'content-type': 'application/json' }).end('{}');
});
let baseUrl = '';
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test("each request is a CLIENT span under the call's trace, and the backend receives that span's traceparent", async () => {
  exporter.reset();
  const call = startTrace('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'req-1');
  const reply = await createHttpClient({ baseUrl, log, trace: call }).request({ path: '/api/orders/ORD-1' });
  assert.equal(reply.status, 503);
  await provider.forceFlush();
  const [span] = exporter.getFinishedSpans();
  assert.ok(span);
  assert.equal(span.kind, SpanKind.CLIENT);
  assert.equal(span.parentSpanContext?.spanId, 'b7ad6b7169203331');
  assert.equal(span.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(received.at(-1), `00-0af7651916cd43dd8448eb211c80319c-${span.spanContext().spanId}-01`);
  assert.equal(span.attributes['http.response.status_code'], 503);
  assert.equal(span.attributes['url.full'], `${baseUrl}/api/orders/ORD-1`);
  assert.equal(span.status.code, 2); // ERROR: the backend failed
});

test('a request outside any trace (a health check) makes no span and sends no traceparent', async () => {
  exporter.reset();
  await createHttpClient({ baseUrl, log }).request({ path: '/health' });
  assert.equal(exporter.getFinishedSpans().length, 0);
  assert.equal(received.at(-1), undefined);
});

test("inside a span that records nothing (an unsampled caller's trace, or spans not exported), the backend still receives the trace's traceparent", async () => {
  exporter.reset();
  const unsampled = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.NONE });
  await context.with(trace.setSpan(context.active(), unsampled), () => createHttpClient({ baseUrl, log }).request({ path: '/api/orders/ORD-2' }));
  assert.equal(exporter.getFinishedSpans().length, 0, 'nothing is recorded for an unsampled trace');
  assert.match(received.at(-1) ?? '', /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00$/);
});
