import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { pino } from 'pino';
import { CONVERSATIONS_TOPIC } from '../../src/kernel/events.ts';
import { loadOpenApi, type JsonObject } from '../../src/kernel/openapi.ts';
import { createAjv, toIssues } from '../../src/kernel/schemas.ts';
import { startTrace } from '../../src/kernel/trace.ts';
import type { LineageEntry } from '../../src/modules/lineage/lineage.types.ts';
import { lineageKeys } from '../../src/adapters/redis/redis-lineage-store.ts';
import { agentToken, chat, CHAT_RUN, chatEnv, openVisitor, type Caller } from '../support/chat-rest.ts';
import { API_KEY, ROOT_DIR, setFault, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TEST_KAFKA_BROKERS, TEST_REDIS_URL } from '../support/ports.ts';
import { assertMatchesSpec } from '../support/spec.ts';
import { waitFor } from '../support/wait.ts';

// Lineage both ways over a real gateway, Redis, Kafka and the real backends: look-ups made for two
// conversations (agents with X-Conversation-Id, the sidebar's context read, the bot's own calls
// through the gateway's query service) show up in each conversation's trace and in the lineage of
// the records they touched — one order read from both conversations — and on Kafka as
// lineage.* CloudEvents read back by an independent consumer; a call to a backend that is down is
// recorded as an error, one answered from the stale cache as stale.
const JAEGER = 'http://jaeger.example:16686';
const ADA = `ada-${CHAT_RUN}`;
const BOB = `bob-${CHAT_RUN}`;
const SUE = `sue-${CHAT_RUN}`;
const SERVICE: Caller = undefined;
// An order no other test file reads: a record's lineage is kept for the whole run (one Redis per lane),
// and another file's conversations reading it would show up in its lineage here.
const SHARED_ORDER = 'ORD-0004711';
let gw: TestGateway;
let ada: string;
let bob: string;
let sue: string;
let consumer: Consumer;
const onKafka: { key: string; event: { id: string; type: string; subject: string; data: Record<string, unknown> } }[] = [];

const doc = loadOpenApi(ROOT_DIR);
const ajv = createAjv();
ajv.opts.strictSchema = false;
ajv.addSchema({ components: { schemas: (doc.components as JsonObject).schemas } }, 'openapi');
const lineageEvent = ajv.compile({ $ref: 'openapi#/components/schemas/LineageEvent' });

before(async () => {
  // The gateway creates the topics at start; the consumer reads from the beginning, so it misses nothing published before it joined.
  gw = await startTestGateway(chatEnv({ KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','), OMNIGATE_JAEGER_UI_URL: `${JAEGER}/` }));
  consumer = new Kafka({ brokers: TEST_KAFKA_BROKERS, logLevel: logLevel.NOTHING }).consumer({ groupId: `lineage-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: CONVERSATIONS_TOPIC, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void onKafka.push({ key: message.key?.toString() ?? '', event: JSON.parse(message.value?.toString() ?? '{}') }) });
  [ada, bob, sue] = await Promise.all([agentToken(ADA), agentToken(BOB), agentToken(SUE, 'supervisor')]);
});
after(async () => {
  await setFault('orders', { mode: 'ok' });
  await consumer?.disconnect();
  await gw?.stop();
});

/** A visitor's new conversation with a first message, accepted by the agent holding `token`. */
async function assignedTo(token: string, text: string): Promise<{ conversationId: string; visitor: string; seq: number }> {
  const visitor = await openVisitor(gw);
  const started = await chat(gw, visitor.token, 'POST', '/v1/conversations', { group: 'sales' });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const conversationId = String(started.body.conversationId);
  const sent = await chat(gw, visitor.token, 'POST', `/v1/conversations/${conversationId}/messages`, { contentType: 'text', text });
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  assert.equal((await chat(gw, token, 'POST', `/v1/conversations/${conversationId}/accept`)).status, 200);
  return { conversationId, visitor: visitor.token, seq: Number(sent.body.seq) };
}

/** A read of the query API as `caller` for a conversation, under a trace of its own: the trace id. */
async function lookUp(caller: Caller, path: string, conversationId: string, body?: unknown): Promise<{ res: Response; traceId: string }> {
  const traceId = randomBytes(16).toString('hex');
  const res = await fetch(`${gw.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`, 'x-conversation-id': conversationId,
      ...(caller === undefined ? { 'x-api-key': API_KEY } : { authorization: `Bearer ${caller}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { res, traceId };
}

/** GET as `caller` (an API key when undefined). */
const read = (caller: Caller, path: string) => gw.api(path, { headers: caller === undefined ? {} : { authorization: `Bearer ${caller}` } });

type Trace = { conversationId: string; messages: { seq?: number; understanding?: Record<string, unknown>; calls: (LineageEntry & { jaegerUrl?: string })[]; keys: Record<string, unknown>[] }[]; next?: string };
const callsOf = (trace: Trace) => trace.messages.flatMap((m) => m.calls);

describe('lineage', () => {
  let a: Awaited<ReturnType<typeof assignedTo>>;
  let b: Awaited<ReturnType<typeof assignedTo>>;
  const traces: Record<string, string> = {};

  before(async () => {
    a = await assignedTo(ada, `where is my order ${SHARED_ORDER}`);
    b = await assignedTo(bob, 'I need help with an order');
    // Ada reads the order (typed route and POST /v1/query), Sue (a supervisor) the customer context; Bob the same order for his conversation.
    const calls: [string, Caller, string, string, unknown?][] = [
      ['ada order', ada, `/v1/orders/${SHARED_ORDER}`, a.conversationId],
      ['ada query', ada, '/v1/query', a.conversationId, { capability: 'order.get', params: { id: SHARED_ORDER } }],
      ['sue context', sue, '/v1/customers/42/context', a.conversationId],
      ['bob order', bob, `/v1/orders/${SHARED_ORDER}`, b.conversationId],
    ];
    for (const [name, caller, path, conversationId, body] of calls) {
      const { res, traceId } = await lookUp(caller, path, conversationId, body);
      assert.equal(res.status, 200, `${name}: ${await res.text()}`);
      traces[name] = traceId;
    }
    // The bot, answering the visitor's message: what it understood, and its own call (what the bot helpers do through the gateway's query service).
    const trace = startTrace(undefined, 'bot-test');
    traces.bot = trace.traceId;
    await gw.query.recordUnderstanding({ id: `und_${randomUUID()}`, at: new Date().toISOString(), conversationId: a.conversationId, messageSeq: a.seq, actor: { kind: 'bot', id: 'builtin' }, intent: 'order_status', confidence: 0.9, entities: { order: [SHARED_ORDER] }, traceId: trace.traceId });
    await gw.query.call('order.get', { id: SHARED_ORDER }, {
      trace, log: pino({ level: 'silent' }),
      conversation: { conversationId: a.conversationId, messageSeq: a.seq, actor: { kind: 'bot', id: 'builtin' }, purpose: 'bot.order_status', shown: 'status only, to an anonymous visitor' },
    });
    // The orders backend goes down: an order never read fails; the one read before is answered stale.
    await setFault('orders', { mode: 'down' });
    const missing = await lookUp(ada, '/v1/orders/ORD-9999999', a.conversationId);
    assert.ok(missing.res.status >= 500, `a read with the backend down fails: ${missing.res.status}`);
    traces.failed = missing.traceId;
    const stale = await lookUp(ada, `/v1/orders/${SHARED_ORDER}`, a.conversationId);
    assert.equal(stale.res.status, 200);
    assert.equal(((await stale.res.json()) as { stale?: boolean }).stale, true, 'answered from the stale cache');
    traces.stale = stale.traceId;
    await setFault('orders', { mode: 'ok' });
  });

  test("a conversation's trace shows, message by message, the understanding and the calls: connector, version, outcome, breaker, staleness, keys and trace ids with Jaeger links", async () => {
    const res = await read(ada, `/v1/conversations/${a.conversationId}/trace`);
    const trace = (await assertMatchesSpec(res, 'getConversationTrace')) as Trace;
    assert.equal(trace.conversationId, a.conversationId);
    // The bot's message first (by seq), then the look-ups made for no message in particular.
    assert.deepEqual(trace.messages.map((m) => m.seq), [a.seq, undefined]);
    const [message, lookUps] = trace.messages;
    assert.equal(message?.understanding?.intent, 'order_status');
    assert.deepEqual(message?.understanding?.entities, { order: [SHARED_ORDER] });
    assert.equal(message?.understanding?.jaegerUrl, `${JAEGER}/trace/${traces.bot}`);
    const bot = message?.calls[0];
    assert.deepEqual([bot?.capability, bot?.access, bot?.connector, bot?.system, bot?.outcome.status, bot?.outcome.breaker, bot?.shown, bot?.actor], ['order.get', 'read', 'orders-java', 'orders', 'ok', 'closed', 'status only, to an anonymous visitor', { kind: 'bot', id: 'builtin' }]);
    assert.match(String(bot?.version), /^\d+\.\d+\.\d+/);
    assert.ok(message?.keys.some((k) => k.system === 'orders' && k.type === 'order' && k.id === SHARED_ORDER && k.access === 'read'));

    const byTrace = new Map(callsOf(trace).map((c) => [c.traceId, c]));
    for (const name of ['ada order', 'ada query']) {
      const call = byTrace.get(traces[name]!);
      assert.deepEqual([call?.capability, call?.connector, call?.outcome.status, call?.actor, call?.purpose], ['order.get', 'orders-java', 'ok', { kind: 'agent', id: ADA }, 'console'], name);
      assert.equal(call?.jaegerUrl, `${JAEGER}/trace/${traces[name]}`);
      assert.ok(call?.outcome.latencyMs !== undefined && call.outcome.latencyMs >= 0);
    }
    // The sidebar's context read: one call per source, by the supervisor, each with the records it touched.
    const context = callsOf(trace).filter((c) => c.traceId === traces['sue context']);
    assert.deepEqual(context.map((c) => c.capability).sort(), ['customer.get', 'order.list', 'ticket.list']);
    for (const call of context) assert.deepEqual(call.actor, { kind: 'agent', id: SUE });
    assert.ok(context.find((c) => c.capability === 'customer.get')?.keys.some((k) => k.system === 'crm' && k.type === 'customer' && k.id === '42'));

    const failed = byTrace.get(traces.failed!);
    assert.equal(failed?.outcome.status, 'error');
    assert.match(String(failed?.outcome.code), /^UPSTREAM_/);
    assert.deepEqual(failed?.keys, [{ system: 'orders', type: 'order', id: 'ORD-9999999' }], 'a failed call still names the record it asked for');
    const stale = byTrace.get(traces.stale!);
    assert.equal(stale?.outcome.status, 'stale');
    assert.match(String(stale?.outcome.code), /^(UPSTREAM_|CIRCUIT_OPEN)/);
    assert.ok((stale?.outcome.staleAgeMs ?? -1) >= 0);
    assert.ok(lookUps?.calls.every((c) => c.messageSeq === undefined));
    // Bob's look-up belongs to his conversation only.
    assert.ok(!byTrace.has(traces['bob order']!));
  });

  test('the trace is paged oldest first: every entry once across the pages, the calls of a message in the order they ended', async () => {
    const whole = (await (await read(SERVICE, `/v1/conversations/${a.conversationId}/trace?limit=200`)).json()) as Trace;
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await read(sue, `/v1/conversations/${a.conversationId}/trace?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      const page = (await assertMatchesSpec(res, 'getConversationTrace')) as Trace;
      seen.push(...page.messages.flatMap((m) => [...(m.understanding ? [String(m.understanding.id)] : []), ...m.calls.map((c) => c.id)]));
      cursor = page.next;
    } while (cursor);
    const entries = whole.messages.flatMap((m) => [...(m.understanding ? [String(m.understanding.id)] : []), ...m.calls.map((c) => c.id)]);
    assert.deepEqual(new Set(seen), new Set(entries));
    assert.equal(seen.length, entries.length);
    assert.equal(callsOf(whole).length, 8, "Ada's two reads, the context's three, the bot's, the failed and the stale read");
    for (const message of whole.messages) {
      const ats = message.calls.map((c) => Date.parse(c.at));
      assert.deepEqual(ats, [...ats].sort((x, y) => x - y), 'the calls of a message in the order they ended');
    }
    const bad = await read(sue, `/v1/conversations/${a.conversationId}/trace?cursor=not-a-cursor`);
    assert.equal((await assertMatchesSpec(bad, 'getConversationTrace')).code, 'VALIDATION_FAILED');
  });

  test("a record's lineage lists the calls of both conversations that touched it, newest first, with who, when, why and what was shown", async () => {
    const res = await read(sue, `/v1/lineage/orders/${SHARED_ORDER}`);
    const lineage = (await assertMatchesSpec(res, 'getRecordLineage')) as { system: string; id: string; items: (LineageEntry & { jaegerUrl?: string })[] };
    assert.deepEqual([lineage.system, lineage.id], ['orders', SHARED_ORDER]);
    assert.deepEqual(new Set(lineage.items.map((e) => e.conversationId)), new Set([a.conversationId, b.conversationId]));
    const sorted = [...lineage.items].sort((x, y) => Date.parse(y.at) - Date.parse(x.at));
    assert.deepEqual(lineage.items.map((e) => e.at), sorted.map((e) => e.at));
    const actors = new Set(lineage.items.map((e) => `${e.actor.kind}:${e.actor.id}`));
    for (const who of [`agent:${ADA}`, `agent:${BOB}`, 'bot:builtin']) assert.ok(actors.has(who), who);
    const fromBob = lineage.items.find((e) => e.traceId === traces['bob order']);
    assert.equal(fromBob?.conversationId, b.conversationId);
    assert.equal(fromBob?.jaegerUrl, `${JAEGER}/trace/${traces['bob order']}`);
    assert.equal(lineage.items.find((e) => e.actor.kind === 'bot')?.shown, 'status only, to an anonymous visitor');
    assert.ok(lineage.items.some((e) => e.outcome.status === 'stale'));

    // Paged: one at a time, the same items.
    const paged: string[] = [];
    for (let cursor: string | undefined, first = true; first || cursor; first = false) {
      const page = (await (await read(SERVICE, `/v1/lineage/orders/${SHARED_ORDER}?limit=1${cursor ? `&cursor=${cursor}` : ''}`)).json()) as { items: { id: string }[]; next?: string };
      paged.push(...page.items.map((e) => e.id));
      cursor = page.next;
    }
    assert.deepEqual(paged, lineage.items.map((e) => e.id));
    const untouched = (await assertMatchesSpec(await read(SERVICE, `/v1/lineage/orders/ORD-${randomUUID()}`), 'getRecordLineage')) as { items: unknown[] };
    assert.deepEqual(untouched.items, []);
  });

  test('who may read: the assigned agent, supervisors and services see a trace, anyone else 404; only supervisors and services see a record', async () => {
    assert.equal((await read(SERVICE, `/v1/conversations/${a.conversationId}/trace`)).status, 200);
    assert.equal((await read(sue, `/v1/conversations/${b.conversationId}/trace`)).status, 200);
    for (const [who, caller, id] of [['another agent', bob, a.conversationId], ['its own visitor', a.visitor, a.conversationId], ['an unknown conversation', ada, randomUUID()]] as const) {
      const res = await read(caller, `/v1/conversations/${id}/trace`);
      assert.equal((await assertMatchesSpec(res, 'getConversationTrace')).code, 'NOT_FOUND', who);
    }
    for (const [who, caller] of [['an agent', ada], ['a visitor', a.visitor]] as const) {
      const res = await read(caller, `/v1/lineage/orders/${SHARED_ORDER}`);
      assert.equal((await assertMatchesSpec(res, 'getRecordLineage')).code, 'FORBIDDEN', who);
    }
    const anonymous = await fetch(`${gw.url}/v1/lineage/orders/${SHARED_ORDER}`);
    assert.equal((await assertMatchesSpec(anonymous, 'getRecordLineage')).code, 'UNAUTHENTICATED');
  });

  test('every call and understanding reaches Kafka as a lineage.* CloudEvent keyed by its conversation, matching LineageEvent', async () => {
    const ids = async (conversationId: string) => {
      const trace = (await (await read(SERVICE, `/v1/conversations/${conversationId}/trace?limit=200`)).json()) as Trace;
      return trace.messages.flatMap((m) => [...(m.understanding ? [String(m.understanding.id)] : []), ...m.calls.map((c) => c.id)]);
    };
    const expected = new Set([...(await ids(a.conversationId)), ...(await ids(b.conversationId))]);
    const lineage = () => onKafka.filter((m) => m.event.type?.startsWith('lineage.') && (m.event.subject === a.conversationId || m.event.subject === b.conversationId));
    await waitFor('the lineage events on Kafka', () => [...expected].every((id) => lineage().some((m) => m.event.id === id)), { detail: () => `${lineage().length} of ${expected.size}` });
    for (const { key, event } of lineage()) {
      assert.ok(lineageEvent(event), `${event.type}: ${toIssues(lineageEvent.errors).map((i) => `${i.pointer} ${i.message}`).join('; ')}`);
      assert.equal(key, event.subject);
      assert.equal(event.data.conversationId, event.subject);
    }
    assert.equal(lineage().filter((m) => m.event.type === 'lineage.understood').length, 1);
    const failed = lineage().find((m) => m.event.data.traceId === traces.failed);
    assert.equal((failed?.event.data.outcome as { status: string }).status, 'error');
  });

  test("a lineage write that fails is logged and never fails the caller's call; its event still reaches Kafka", async () => {
    const c = await assignedTo(ada, 'and my other order?');
    // The conversation's lineage hash is made a string in the real Redis: the store's script fails (WRONGTYPE).
    const redis = new Redis(TEST_REDIS_URL);
    try {
      await redis.set(lineageKeys.conversation(c.conversationId).data, 'not a hash', 'PX', 600_000);
      const { res, traceId } = await lookUp(ada, '/v1/orders/ORD-0000002', c.conversationId);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { data: { id: string } }).data.id, 'ORD-0000002');
      const warned = gw.logs.find((l) => l.msg === 'lineage of a call could not be stored' && l.conversationId === c.conversationId);
      assert.equal(warned?.level, 40, 'logged as a warning');
      await waitFor('the lineage event on Kafka', () => onKafka.some((m) => m.event.type === 'lineage.recorded' && m.event.data.traceId === traceId));
      // The record's index (another slot) is written all the same.
      const order = (await (await read(SERVICE, '/v1/lineage/orders/ORD-0000002')).json()) as { items: LineageEntry[] };
      assert.ok(order.items.some((e) => e.traceId === traceId && e.conversationId === c.conversationId));
    } finally {
      redis.disconnect();
    }
  });
});

describe('lineage of the built-in bot', () => {
  let botGw: TestGateway;
  before(async () => {
    botGw = await startTestGateway(chatEnv({ OMNIGATE_CHAT_BOT: 'builtin', KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','), OMNIGATE_JAEGER_UI_URL: JAEGER }));
  });
  after(() => botGw?.stop());

  test("a visitor's question to the bot: its trace shows what the bot understood of that message and the calls it made for it, by the bot", async () => {
    const visitor = await openVisitor(botGw);
    const started = await chat(botGw, visitor.token, 'POST', '/v1/conversations', { group: 'sales' });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const conversationId = String(started.body.conversationId);
    const sent = await chat(botGw, visitor.token, 'POST', `/v1/conversations/${conversationId}/messages`, { contentType: 'text', text: `我的订单${SHARED_ORDER}到哪了` });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const seq = Number(sent.body.seq);
    const trace = await waitFor('the bot to have read the message and called the orders system', async () => {
      const body = (await (await botGw.api(`/v1/conversations/${conversationId}/trace`)).json()) as Trace;
      const message = body.messages.find((m) => m.seq === seq);
      return message?.understanding && message.calls.length > 0 ? body : undefined;
    });
    const message = trace.messages.find((m) => m.seq === seq);
    assert.equal(message?.understanding?.intent, 'order_status');
    assert.deepEqual(message?.understanding?.actor, { kind: 'bot', id: 'builtin' });
    for (const call of message?.calls ?? []) {
      assert.equal(call.actor.kind, 'bot');
      assert.equal(call.messageSeq, seq);
      assert.match(String(call.purpose), /^bot/);
    }
    assert.ok(message?.keys.some((k) => k.system === 'orders' && k.id === SHARED_ORDER), JSON.stringify(message?.keys));
    const lineage = (await (await botGw.api(`/v1/lineage/orders/${SHARED_ORDER}`)).json()) as { items: LineageEntry[] };
    assert.ok(lineage.items.some((e) => e.conversationId === conversationId && e.actor.kind === 'bot'));
  });
});
