// Full-chain tracing read back from the run's real Jaeger: gateway processes started as `npm start`
// starts them (OpenTelemetry's instrumentations preloaded), exporting over OTLP/HTTP.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { backendAdmin } from '../support/gateway.ts';
import { gatewayProcesses } from '../support/gateway-process.ts';
import { customerHmac } from '../../src/modules/identity/widget-keys.ts';
import { agentSocket, agentToken, CHAT_ENV, CHAT_ORIGIN, CHAT_SITE, visitorSocket, WIDGET_KEY } from '../support/chat-principals.ts';
import { TEST_JAEGER_QUERY_URL, TEST_OTLP_ENDPOINT } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

/** A span as Jaeger's query API (`/api/traces`) shows it. */
interface JaegerSpan {
  readonly traceID: string;
  readonly spanID: string;
  readonly operationName: string;
  readonly processID: string;
  readonly references: readonly { refType: string; traceID: string; spanID: string }[];
  readonly tags: readonly { key: string; value: unknown }[];
}
interface JaegerTrace {
  readonly traceID: string;
  readonly spans: readonly JaegerSpan[];
  readonly processes: Readonly<Record<string, { serviceName: string }>>;
}

const nodes = gatewayProcesses();
// Spans leave each process every 100 ms, so that a trace is complete in Jaeger soon after the answer.
// At debug: the worker's `upstream call` lines are checked for the trace id too.
const TRACED = { OTEL_EXPORTER_OTLP_ENDPOINT: TEST_OTLP_ENDPOINT, OTEL_BSP_SCHEDULE_DELAY: '100', LOG_LEVEL: 'debug' };

const tag = (span: JaegerSpan, key: string): unknown => span.tags.find((t) => t.key === key)?.value;
const serviceOf = (trace: JaegerTrace, span: JaegerSpan): string => trace.processes[span.processID]?.serviceName ?? '';
const parentOf = (span: JaegerSpan): string | undefined => span.references.find((r) => r.refType === 'CHILD_OF')?.spanID;

async function jaeger<T>(path: string): Promise<T | undefined> {
  const reply = await fetch(`${TEST_JAEGER_QUERY_URL}${path}`);
  const text = await reply.text();
  if (reply.status === 404) return undefined;
  assert.equal(reply.status, 200, `${path}: ${text}`);
  return (JSON.parse(text) as { data: T }).data;
}

/** The trace once `complete` says all its spans arrived (spans of three processes come in separate exports). */
function traceInJaeger(traceId: string, complete: (trace: JaegerTrace) => boolean): Promise<JaegerTrace> {
  let last: JaegerTrace | undefined;
  return waitFor(`trace ${traceId} in Jaeger`, async () => {
    last = (await jaeger<JaegerTrace[]>(`/api/traces/${traceId}`))?.[0];
    return last && complete(last) ? last : undefined;
  }, { timeoutMs: 20_000, intervalMs: 100, detail: () => `spans so far: ${JSON.stringify(last?.spans.map((s) => [serviceOf(last!, s), s.operationName]))}` });
}

describe('full-chain tracing in Jaeger', () => {
  test('one request is one trace: gateway, connector worker and backend call, with the id of the answer, the log line and the backend log', async () => {
    const gw = await nodes.start({ name: 'trace', env: TRACED });
    const requestId = `trace-${process.pid}-${Date.now()}`;
    const reply = await gw.api('/v1/orders/ORD-0000001', { headers: { 'x-request-id': requestId } });
    assert.equal(reply.status, 200, await reply.clone().text());
    const traceparent = reply.headers.get('traceparent') ?? '';
    const [, traceId, serverSpanId] = traceparent.split('-');
    assert.match(traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.equal(((await reply.json()) as { traceId?: string }).traceId ?? traceId, traceId);

    const isBackendCall = (s: JaegerSpan) => tag(s, 'span.kind') === 'client' && tag(s, 'otel.scope.name') === 'omnigate-connector-sdk';
    const trace = await traceInJaeger(traceId!, (t) => t.spans.some(isBackendCall) && t.spans.some((s) => s.spanID === serverSpanId));
    assert.ok(trace.spans.every((s) => s.traceID === traceId));

    // The gateway's server span (http instrumentation) is the one the answer names, with express's route.
    const server = trace.spans.find((s) => s.spanID === serverSpanId)!;
    assert.equal(serviceOf(trace, server), 'omnigate-gateway');
    assert.equal(tag(server, 'span.kind'), 'server');
    assert.equal(tag(server, 'otel.scope.name'), '@opentelemetry/instrumentation-http');
    assert.ok(trace.spans.some((s) => tag(s, 'otel.scope.name') === '@opentelemetry/instrumentation-express'), 'no express span');
    // The gateway's connector call, the worker's span (its own service) under it, the backend call under that.
    const call = trace.spans.find((s) => s.operationName === 'query orders-java order.get')!;
    assert.ok(call, 'no connector call span');
    assert.equal(serviceOf(trace, call), 'omnigate-gateway');
    const worker = trace.spans.find((s) => parentOf(s) === call.spanID && serviceOf(trace, s) === 'omnigate-connector-orders-java')!;
    assert.ok(worker, 'no worker span under the connector call');
    assert.equal(tag(worker, 'omnigate.capability'), 'order.get');
    const backendCall = trace.spans.find((s) => isBackendCall(s) && parentOf(s) === worker.spanID)!;
    assert.ok(backendCall, 'no backend client span under the worker span');
    assert.equal(serviceOf(trace, backendCall), 'omnigate-connector-orders-java');
    assert.equal(tag(backendCall, 'http.response.status_code'), 200);

    // The backend logged the client span's own traceparent; the gateway's log line has the trace id.
    const seen = await backendAdmin<{ path: string; traceparent: string | null }[]>('orders', 'requests');
    assert.ok(seen.some((r) => r.traceparent === `00-${traceId}-${backendCall.spanID}-01`), `orders did not log 00-${traceId}-${backendCall.spanID}-01`);
    const done = await waitFor('the request line in the log', () => gw.logs().find((l) => l.msg === 'request done' && l.reqId === requestId));
    assert.equal(done.traceId, traceId);
    const lines = gw.logs().filter((l) => l.reqId === requestId);
    assert.ok(lines.some((l) => l.msg === 'upstream call' && l.connector === 'orders-java'), 'no upstream call line from the worker');
    for (const line of lines) assert.equal(line.traceId, traceId);
  });

  test('OTEL_TRACES_SAMPLER=parentbased_traceidratio at 0 exports only the traces a sampled caller sends, and says so in each answer and backend call', async () => {
    const gw = await nodes.start({ name: 'trace-sampler', env: { ...TRACED, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' } });
    const own = await gw.api('/v1/orders/ORD-0000002');
    assert.equal(own.status, 200, await own.clone().text());
    const [, ownTrace, , ownFlags] = (own.headers.get('traceparent') ?? '').split('-');
    assert.equal(ownFlags, '00', 'a trace of its own, at ratio 0, is not sampled');

    const callerTrace = randomBytes(16).toString('hex');
    const called = await gw.api('/v1/orders/ORD-0000003', { headers: { traceparent: `00-${callerTrace}-${randomBytes(8).toString('hex')}-01` } });
    assert.equal(called.status, 200);
    assert.match(called.headers.get('traceparent') ?? '', new RegExp(`^00-${callerTrace}-[0-9a-f]{16}-01$`));
    // The sampled one arrives whole, from the gateway and from the worker...
    await traceInJaeger(callerTrace, (t) => t.spans.some((s) => serviceOf(t, s) === 'omnigate-gateway') && t.spans.some((s) => serviceOf(t, s) === 'omnigate-connector-orders-java'));
    // ...so both exporters have sent what finished before it: the unsampled trace was not among it.
    assert.equal(await jaeger<JaegerTrace[]>(`/api/traces/${ownTrace}`), undefined, 'the unsampled trace reached Jaeger');
    // The backend was told, so that it does not record the unsampled trace either.
    const seen = await backendAdmin<{ traceparent: string | null }[]>('orders', 'requests');
    assert.ok(seen.some((r) => r.traceparent?.startsWith(`00-${ownTrace}-`) && r.traceparent.endsWith('-00')), 'orders did not get the unsampled traceparent');
  });

  test('OTEL_NODE_DISABLED_INSTRUMENTATIONS=http,express,ioredis still exports the whole trace, from the gateway\'s own server span down to the backend call', async () => {
    const gw = await nodes.start({ name: 'trace-lean', env: { ...TRACED, OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'http,express,ioredis' } });
    const reply = await gw.api('/v1/orders/ORD-0000004');
    assert.equal(reply.status, 200, await reply.clone().text());
    const [, traceId, serverSpanId] = (reply.headers.get('traceparent') ?? '').split('-');
    const isBackendCall = (s: JaegerSpan) => tag(s, 'span.kind') === 'client' && tag(s, 'otel.scope.name') === 'omnigate-connector-sdk';
    const trace = await traceInJaeger(traceId!, (t) => t.spans.some(isBackendCall) && t.spans.some((s) => s.spanID === serverSpanId));
    const server = trace.spans.find((s) => s.spanID === serverSpanId)!;
    assert.equal(serviceOf(trace, server), 'omnigate-gateway');
    assert.equal(tag(server, 'span.kind'), 'server');
    assert.equal(tag(server, 'otel.scope.name'), 'omnigate', "the request's server span is the gateway's own");
    const call = trace.spans.find((s) => s.operationName === 'query orders-java order.get');
    assert.equal(call && parentOf(call), serverSpanId, 'the connector call hangs from that server span');
    const instrumented = trace.spans.filter((s) => /instrumentation-(http|express|ioredis)$/.test(String(tag(s, 'otel.scope.name'))));
    assert.deepEqual(instrumented.map((s) => s.operationName), [], 'spans of instrumentations that were left off');
  });

  test('a queued job continues the trace of the request that queued it, down to the backend call', async () => {
    const gw = await nodes.start({ name: 'trace-job', env: TRACED });
    const queued = await gw.api('/v1/tickets', { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'respond-async' }, body: JSON.stringify({ customerId: '42', subject: 'Traced parcel', description: 'Where is it?' }) });
    assert.equal(queued.status, 202, await queued.clone().text());
    const [, traceId, serverSpanId] = (queued.headers.get('traceparent') ?? '').split('-');
    const isJob = (s: JaegerSpan) => s.operationName === 'job ticket.create';
    const trace = await traceInJaeger(traceId!, (t) => t.spans.some(isJob) && t.spans.some((s) => tag(s, 'otel.scope.name') === 'omnigate-connector-sdk' && tag(s, 'http.response.status_code') !== undefined));
    const job = trace.spans.find(isJob)!;
    assert.equal(tag(job, 'span.kind'), 'consumer');
    assert.equal(parentOf(job), serverSpanId, 'the job span is not a child of the request that queued it');
    const call = trace.spans.find((s) => s.operationName === 'command tickets-node ticket.create')!;
    assert.ok(call, 'no connector call span');
    assert.equal(parentOf(call), job.spanID);
  });

  test('a WebSocket frame of a conversation is a trace carrying the conversation id and the message seq, and so is the agent\'s look-up down to the worker', async () => {
    const gw = await nodes.start({ name: 'trace-ws', env: { ...TRACED, ...CHAT_ENV } });
    const visitor = await visitorSocket(gw);
    const started = await visitor.request({ type: 'conversation.start', text: 'where is my order ORD-0000001?' });
    assert.equal(started.type, 'ack', JSON.stringify(started));
    const conversationId = String(started.conversationId);
    const agentId = `a-trace-${process.pid}`;
    const agent = await agentSocket(gw, agentId);
    const accepted = await agent.request({ type: 'command', conversationId, command: 'accept' });
    assert.equal(accepted.type, 'ack', JSON.stringify(accepted));

    const tags = encodeURIComponent(JSON.stringify({ 'omnigate.conversation.id': conversationId }));
    const frameSpans = await waitFor('both frames of the conversation in Jaeger', async () => {
      const traces = (await jaeger<JaegerTrace[]>(`/api/traces?service=omnigate-gateway&tags=${tags}&limit=20`)) ?? [];
      const spans = traces.flatMap((t) => t.spans.filter((s) => s.operationName.startsWith('ws ')).map((s) => ({ trace: t, span: s })));
      return spans.length >= 2 ? spans : undefined;
    }, { timeoutMs: 20_000, intervalMs: 100 });
    const start = frameSpans.find((f) => f.span.operationName === 'ws conversation.start')!;
    const accept = frameSpans.find((f) => f.span.operationName === 'ws command')!;
    assert.ok(start && accept, JSON.stringify(frameSpans.map((f) => f.span.operationName)));
    for (const { span } of [start, accept]) assert.equal(tag(span, 'omnigate.conversation.id'), conversationId);
    assert.equal(tag(start.span, 'omnigate.message.seq'), started.seq);
    assert.equal(tag(accept.span, 'omnigate.message.seq'), accepted.seq);
    assert.equal(tag(accept.span, 'omnigate.principal.kind'), 'agent');
    // The append itself: ioredis's spans are children of the frame's span, in its trace.
    assert.ok(start.trace.spans.some((s) => parentOf(s) === start.span.spanID && tag(s, 'otel.scope.name') === '@opentelemetry/instrumentation-ioredis'), 'no redis span under the frame');

    // The assigned agent looks the order up for the conversation (X-Conversation-Id): the gateway's
    // connector call and the worker's span carry the conversation too.
    const lookup = await fetch(`${gw.url}/v1/orders/ORD-0000001`, { headers: { authorization: `Bearer ${await agentToken(agentId)}`, 'x-conversation-id': conversationId } });
    assert.equal(lookup.status, 200, await lookup.clone().text());
    const traceId = (lookup.headers.get('traceparent') ?? '').split('-')[1]!;
    const workerOf = (t: JaegerTrace) => t.spans.find((s) => serviceOf(t, s) === 'omnigate-connector-orders-java' && tag(s, 'span.kind') === 'server');
    const trace = await traceInJaeger(traceId, (t) => workerOf(t) !== undefined);
    const call = trace.spans.find((s) => s.operationName === 'query orders-java order.get')!;
    assert.equal(tag(call, 'omnigate.conversation.id'), conversationId);
    assert.equal(tag(workerOf(trace)!, 'omnigate.conversation.id'), conversationId);
  });

  test("a visitor's question to the built-in bot is one trace: the message's frame, the bot's job, its query, the worker and the orders backend call", async () => {
    const identitySecret = 'trace-identity-secret-0123456789abcdef';
    const gw = await nodes.start({ name: 'trace-bot', env: {
      ...TRACED, ...CHAT_ENV, OMNIGATE_CHAT_BOT: 'builtin',
      OMNIGATE_WIDGET_KEYS: JSON.stringify([{ name: CHAT_SITE, key: WIDGET_KEY, origins: [CHAT_ORIGIN], identitySecret }]),
      OMNIGATE_CHAT_AGENT_ANSWER_MS: '3600000', OMNIGATE_CHAT_VISITOR_IDLE_MS: '3600000',
    } });
    const orders = (await (await gw.api('/v1/customers/42/orders?pageSize=1')).json()) as { data: { items: { id: string }[] } };
    const orderId = orders.data.items[0]!.id;
    const session = await fetch(`${gw.url}/v1/widget/sessions`, { method: 'POST', headers: { 'x-widget-key': WIDGET_KEY, origin: CHAT_ORIGIN, 'content-type': 'application/json' }, body: JSON.stringify({ customerId: '42', customerHmac: customerHmac(identitySecret, '42') }) });
    assert.equal(session.status, 201, await session.clone().text());
    const visitor = await visitorSocket(gw, ((await session.json()) as { token: string }).token);
    const started = await visitor.request({ type: 'conversation.start' });
    const conversationId = String(started.conversationId);
    const asked = await visitor.request({ type: 'message.send', conversationId, contentType: 'text', text: `where is my order ${orderId}` });
    assert.equal(asked.type, 'ack', JSON.stringify(asked));

    // The frame's trace (found by the conversation and the seq), complete once the backend call and
    // every span above it are in: the bot's spans end after the call's, and may come in a later export.
    const CHAIN = ['query order.get', 'query orders-java order.get', 'bot.reply', 'job bot.reply', 'ws message.send'];
    const tags = encodeURIComponent(JSON.stringify({ 'omnigate.conversation.id': conversationId, 'omnigate.message.seq': String(asked.seq) }));
    const isFrame = (s: JaegerSpan) => s.operationName === 'ws message.send' && tag(s, 'omnigate.message.seq') === asked.seq;
    const isOrderCall = (t: JaegerTrace, s: JaegerSpan) => serviceOf(t, s) === 'omnigate-connector-orders-java' && tag(s, 'span.kind') === 'client';
    let last: JaegerTrace[] = [];
    const trace = await waitFor("the bot's answer's trace in Jaeger", async () => {
      last = (await jaeger<JaegerTrace[]>(`/api/traces?service=omnigate-gateway&tags=${tags}&limit=20`)) ?? [];
      return last.find((t) => t.spans.some(isFrame) && t.spans.some((s) => isOrderCall(t, s)) && CHAIN.every((name) => t.spans.some((s) => s.operationName === name)));
    }, { timeoutMs: 20_000, intervalMs: 100, detail: () => JSON.stringify(last.map((t) => t.spans.map((s) => s.operationName))) });
    const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
    const ancestry = (span: JaegerSpan): JaegerSpan[] => {
      const parent = byId.get(parentOf(span) ?? '');
      return parent ? [parent, ...ancestry(parent)] : [];
    };
    // The orders backend call hangs, through the worker, the connector call and the bot's job, from the message's frame.
    const backendCall = trace.spans.find((s) => isOrderCall(trace, s) && tag(s, 'http.response.status_code') === 200 && ancestry(s).some((a) => a.operationName === 'query orders-java order.get'))!;
    assert.ok(backendCall, 'no order.get backend call in the trace');
    const chain = ancestry(backendCall).map((s) => s.operationName);
    for (const step of CHAIN) assert.ok(chain.includes(step), `${step} missing from ${chain.join(' < ')}`);
    // The reply is the job's child (the job span continues the message's trace), not re-parented beside it.
    const reply = ancestry(backendCall).find((s) => s.operationName === 'bot.reply')!;
    assert.equal(byId.get(parentOf(reply) ?? '')?.operationName, 'job bot.reply', `bot.reply's parent: ${chain.join(' < ')}`);
    const call = ancestry(backendCall).find((s) => s.operationName === 'query orders-java order.get')!;
    assert.equal(tag(call, 'omnigate.conversation.id'), conversationId);
    const seen = await backendAdmin<{ traceparent: string | null }[]>('orders', 'requests');
    assert.ok(seen.some((r) => r.traceparent === `00-${trace.traceID}-${backendCall.spanID}-01`), 'orders did not log the call of that trace');
  });
});
