import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadOpenApi, type JsonObject } from '../../kernel/openapi.ts';
import { createAjv, toIssues } from '../../kernel/schemas.ts';
import { decide, evolve, initialState } from './conversation.decider.ts';
import type { Actor, ConversationEvent, ConversationState, DeciderCommand, EventType } from './conversation.types.ts';
import type { DecideContext } from './transitions.ts';
import { viewFor } from './visibility.ts';

// The OpenAPI document describes every event and every state the decider makes, exactly (no
// property it does not list, none it requires missing): a conversation that goes through each
// event type is checked against `ConversationEvent` and `Conversation` at every step.
const doc = loadOpenApi(fileURLToPath(new URL('../../../', import.meta.url)));
const ajv = createAjv();
ajv.opts.strictSchema = false;
ajv.addSchema({ components: { schemas: (doc.components as JsonObject).schemas } }, 'openapi');
const event = ajv.compile({ $ref: 'openapi#/components/schemas/ConversationEvent' });
const conversation = ajv.compile({ $ref: 'openapi#/components/schemas/Conversation' });

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const visitor: Actor = { kind: 'visitor', id: 'v-1' };
const agent: Actor = { kind: 'agent', id: 'a-1' };
const dispatch: Actor = { kind: 'system', id: 'dispatch' };
const bot: Actor = { kind: 'bot', id: 'builtin' };
const decision = {
  decisionId: 'd-1', rulesVersion: 'v1', group: 'orders', priority: 70, skills: ['returns'], language: 'de',
  outcomes: [{ rule: 'vip', outcome: 'fired', read: { 'customer.tier': 'vip' }, effect: { priority: 50 } }, { rule: 'urgent', outcome: 'unknown', read: { 'tickets.openUrgentCount': null } }],
  facts: { 'customer.tier': 'vip', 'tickets.openUrgentCount': null }, sources: [{ name: 'customer', connector: 'crm', status: 'ok', fetchedAt: new Date(T0).toISOString() }, { name: 'tickets', status: 'missing', reason: 'UPSTREAM_TIMEOUT' }],
  missing: ['tickets'], decidedAt: new Date(T0).toISOString(),
} as const;
const offer = (offerId: string) => ({ offerId, agentId: 'a-1', expiresAt: new Date(T0 + 30_000).toISOString(), autoAssign: false, reason: 'sticky', candidates: [{ agentId: 'a-1', load: 0, maxConcurrent: 3, idleSinceMs: T0 }], passedOver: 2 }) as const;

/** Every event type of the code (the type makes this list complete). */
const EVERY: Record<EventType, true> = {
  'conversation.created': true, 'conversation.bot_engaged': true, 'conversation.queued': true, 'conversation.assigned': true, 'conversation.routed': true,
  'conversation.offered': true, 'conversation.offer_ended': true, 'conversation.overflowed': true, 'conversation.message_requested': true,
  'conversation.message_left': true, 'conversation.ticket_opened': true, 'conversation.transferred': true, 'conversation.message_sent': true,
  'conversation.delivered': true, 'conversation.read': true, 'conversation.snoozed': true, 'conversation.woke': true, 'conversation.closed': true, 'conversation.reopened': true,
};

/** One conversation through every event type: bot, queue, routing, offers, overflow, assignment, transfer, snooze, close, a left message and its ticket. */
const STEPS: [Actor, DeciderCommand][] = [
  [visitor, { type: 'start', visitor: { id: 'v-1', site: 'shop' }, group: 'sales', language: 'de', subject: 'order', topic: 'returns', page: 'https://shop.example/orders/42' }],
  [visitor, { type: 'send', messageId: 'm-1', clientId: 'c-1', content: { contentType: 'text', text: 'hello' } }],
  [bot, { type: 'note', messageId: 'm-2', content: { contentType: 'card', card: { kind: 'order.summary', title: 'Order 42', fields: [{ label: 'total', value: '620 EUR' }], source: { capability: 'order.get', id: '42' } } } }],
  [bot, { type: 'handover', reason: 'visitor_asked', classification: { intent: 'orders', language: 'de', skills: ['returns'] } }],
  [dispatch, { type: 'route', decision }],
  [dispatch, { type: 'offer', offer: offer('o-1') }],
  [agent, { type: 'decline', offerId: 'o-1' }],
  [dispatch, { type: 'offer', offer: offer('o-2') }],
  [dispatch, { type: 'end_offer', offerId: 'o-2', agentId: 'a-1', outcome: 'expired' }],
  [dispatch, { type: 'overflow', to: { group: 'billing' }, reason: 'wait_exceeded' }],
  [dispatch, { type: 'offer', offer: offer('o-3') }],
  [agent, { type: 'accept', offerId: 'o-3' }],
  [visitor, { type: 'read', upToSeq: 3 }],
  [agent, { type: 'delivered', upToSeq: 3 }],
  [agent, { type: 'snooze', untilMs: T0 + 60_000 }],
  [agent, { type: 'wake' }],
  [agent, { type: 'transfer', to: { agentId: 'a-2' }, reason: 'billing expert', offerId: 'claim-1' }],
  [dispatch, { type: 'close', reason: 'resolved' }],
  [visitor, { type: 'reopen' }],
  [dispatch, { type: 'route', decision }],
  [dispatch, { type: 'overflow', to: { leaveMessage: true }, reason: 'closed' }],
  [visitor, { type: 'leave_message', text: 'please call me back', email: 'v@example.com', ticketJobId: 'lm-1' }],
  [dispatch, { type: 'ticket_opened', ticketId: 'TCK-7', ticketJobId: 'lm-1' }],
];

test('every event and state of a conversation through every event type matches the OpenAPI document', () => {
  let state: ConversationState = initialState();
  const seen = new Set<string>();
  for (const [i, [actor, command]] of STEPS.entries()) {
    const ctx: DecideContext = { actor, nowMs: T0 + i, reopenWindowMs: 60_000, bot: 'builtin' };
    for (const decided of decide(command, state, ctx)) {
      const stored = { ...decided, seq: state.seq + 1, id: `e-${state.seq + 1}`, at: new Date(T0 + i).toISOString() } as ConversationEvent;
      assert.ok(event(stored), `${stored.type} breaks the spec: ${toIssues(event.errors).map((x) => x.message).join('; ')}`);
      state = evolve(state, stored);
      seen.add(stored.type);
      for (const p of [{ kind: 'service', name: 'crm', roles: [] }, { kind: 'visitor', name: 'visitor:v-1', visitorId: 'v-1', site: 'shop', roles: [], expiresAt: T0 }] as const) {
        const view = viewFor(p, 'c-1', state);
        assert.ok(conversation(view), `the state after ${stored.type} (${p.kind}) breaks the spec: ${toIssues(conversation.errors).map((x) => x.message).join('; ')}`);
      }
    }
  }
  assert.deepEqual([...seen].sort(), Object.keys(EVERY).sort(), 'the walk covers every event type');
  assert.deepEqual([state.status, state.closeReason, state.ticketId], ['closed', 'left_message', 'TCK-7']);
});

test('the OpenAPI document lists exactly the event types the code has', () => {
  const oneOf = ((doc.components as JsonObject).schemas as Record<string, JsonObject>).ConversationEvent?.oneOf as JsonObject[];
  const documented = oneOf.map((s) => ((s.properties as JsonObject).type as JsonObject).const as string);
  assert.equal(new Set(documented).size, documented.length, 'no type twice');
  assert.deepEqual([...documented].sort(), Object.keys(EVERY).sort());
});
