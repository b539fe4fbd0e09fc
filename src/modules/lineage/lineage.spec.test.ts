import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadOpenApi, type JsonObject } from '../../kernel/openapi.ts';
import { createAjv, toIssues } from '../../kernel/schemas.ts';
import { lineageEvent, LINEAGE_RECORDED, LINEAGE_UNDERSTOOD } from './lineage-recorder.ts';
import { callView, messageTraces } from './lineage-views.ts';
import type { LineageEntry, UnderstandingEntry } from './lineage.types.ts';

// The OpenAPI document describes exactly what lineage stores, answers and publishes: entries as
// the recorder builds them, the trace and record views, and the Kafka events.
const doc = loadOpenApi(fileURLToPath(new URL('../../../', import.meta.url)));
const ajv = createAjv();
ajv.opts.strictSchema = false;
ajv.addSchema({ components: { schemas: (doc.components as JsonObject).schemas } }, 'openapi');
const schema = (name: string) => ajv.compile({ $ref: `openapi#/components/schemas/${name}` });
const check = (name: string, value: unknown) => {
  const validate = schema(name);
  assert.ok(validate(value), `${name}: ${toIssues(validate.errors).map((i) => `${i.pointer} ${i.message}`).join('; ')}`);
};

const conversationId = '3f1c9a2e-7b4d-4c1a-9e2f-5a6b7c8d9e0f';
const trace = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true, requestId: 'r-1' };
const understood: UnderstandingEntry = { id: 'und_1', at: '2026-03-01T10:00:01.120Z', conversationId, messageSeq: 2, actor: { kind: 'bot', id: 'builtin' }, intent: 'order_status', confidence: 0.93, entities: { order: ['ORD-0001234'] }, traceId: trace.traceId };
const read: LineageEntry = {
  id: 'lin_1', at: '2026-03-01T10:00:01.180Z', conversationId, messageSeq: 2, actor: { kind: 'bot', id: 'builtin' }, purpose: 'bot.order_status', capability: 'order.get', access: 'read',
  connector: 'orders-java', version: '1.2.0', system: 'orders', outcome: { status: 'ok', latencyMs: 38, breaker: 'closed' },
  keys: [{ system: 'orders', type: 'order', id: 'ORD-0001234' }, { system: 'orders', type: 'customer', id: 'C-42' }], shown: 'status only, to an anonymous visitor', traceId: trace.traceId,
};
const stale: LineageEntry = { ...read, id: 'lin_2', messageSeq: 5, outcome: { status: 'stale', code: 'UPSTREAM_UNAVAILABLE', latencyMs: 4, breaker: 'open', staleAgeMs: 240_000 } };
const write: LineageEntry = { ...read, id: 'lin_3', capability: 'ticket.create', access: 'write', system: 'tickets', keys: [{ system: 'orders', type: 'order', id: 'ORD-0001234' }], messageSeq: 2 };
const failed: LineageEntry = { id: 'lin_4', at: '2026-03-01T10:00:02.000Z', conversationId, actor: { kind: 'agent', id: 'ada' }, purpose: 'console', capability: 'customer.get', access: 'read', connector: 'crm-python', version: '1.0.0', system: 'crm', outcome: { status: 'error', code: 'UPSTREAM_TIMEOUT', latencyMs: 3_000, breaker: 'closed' }, keys: [{ system: 'crm', type: 'customer', id: '42' }], traceId: trace.traceId };

test('entries, pages of a trace and of a record match LineageCall, ConversationTrace and RecordLineage', () => {
  for (const entry of [read, stale, write, failed]) check('LineageCall', entry);
  check('LineageUnderstanding', understood);
  const messages = messageTraces([understood, read, failed, write, stale], 'http://127.0.0.1:16686');
  check('ConversationTrace', { conversationId, messages, next: 'abc' });
  check('RecordLineage', { system: 'orders', id: 'ORD-0001234', items: [stale, read].map((e) => callView(e)) });
});

test('a trace groups by message seq (calls for no message last), shows each record once, written over read', () => {
  const messages = messageTraces([failed, stale, understood, read, write], 'http://127.0.0.1:16686');
  assert.deepEqual(messages.map((m) => m.seq), [2, 5, undefined]);
  assert.equal(messages[0]?.understanding?.intent, 'order_status');
  assert.equal(messages[0]?.understanding?.jaegerUrl, `http://127.0.0.1:16686/trace/${trace.traceId}`);
  assert.deepEqual(messages[0]?.calls.map((c) => c.id), ['lin_1', 'lin_3']);
  assert.deepEqual(messages[0]?.keys, [{ system: 'orders', type: 'order', id: 'ORD-0001234', access: 'write' }, { system: 'orders', type: 'customer', id: 'C-42', access: 'read' }]);
  assert.equal(messageTraces([read])[0]?.calls[0]?.jaegerUrl, undefined, 'no link without Jaeger');
});

test('the lineage events match LineageEvent: the entry as data, the conversation as subject and key, the call as trace', () => {
  const recorded = lineageEvent('/omnigate/nodes/n1', LINEAGE_RECORDED, read, trace);
  check('LineageEvent', recorded);
  assert.deepEqual([recorded.id, recorded.subject, recorded.partitionkey, recorded.traceparent], [read.id, conversationId, conversationId, `00-${trace.traceId}-${trace.spanId}-01`]);
  check('LineageEvent', lineageEvent('/omnigate/nodes/n1', LINEAGE_UNDERSTOOD, understood));
  const validate = schema('LineageEvent');
  assert.equal(validate(lineageEvent('/omnigate/nodes/n1', LINEAGE_UNDERSTOOD, read)), false, 'a call is not an understanding');
});
