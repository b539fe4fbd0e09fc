import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConversationEvent, OfferRecord } from '../chat/conversation.types.ts';
import { explainRouting, whyChosen } from './routing-explanation.ts';
import type { RoutingDecision } from './routing.types.ts';

const SYSTEM = { kind: 'system', id: 'dispatch' } as const;
let seq = 0;
const ev = (type: ConversationEvent['type'], data: unknown, by: ConversationEvent['by'] = SYSTEM): ConversationEvent =>
  ({ type, data, by, visibility: 'internal', seq: ++seq, id: `e${seq}`, at: `2026-12-02T10:00:${String(seq).padStart(2, '0')}Z` }) as ConversationEvent;

const decision = (priority: number): RoutingDecision => ({
  decisionId: `d${priority}`, rulesVersion: 'v1', group: 'general', priority, skills: [], outcomes: [{ rule: 'vip', outcome: priority > 0 ? 'fired' : 'unknown', read: { 'customer.tier': priority > 0 ? 'vip' : null } }],
  facts: { 'customer.tier': priority > 0 ? 'vip' : null }, sources: [{ name: 'customer', status: priority > 0 ? 'ok' : 'missing', ...(priority > 0 ? {} : { reason: 'UPSTREAM_TIMEOUT' }) }],
  missing: priority > 0 ? [] : ['customer'], decidedAt: '2026-12-02T10:00:00Z',
});
const offer = (offerId: string, agentId: string, reason: OfferRecord['reason'] = 'least_busy'): OfferRecord => ({
  offerId, agentId, reason, autoAssign: false, expiresAt: '2026-12-02T10:01:00Z', passedOver: 0,
  candidates: [{ agentId, load: 0, maxConcurrent: 3, idleSinceMs: 1 }, { agentId: 'zed', load: 2, maxConcurrent: 3, idleSinceMs: 0 }],
});

test('tells the latest decision, every offer with how it ended, overflows and the assignment', () => {
  const events = [
    ev('conversation.queued', { reason: 'no_bot' }),
    ev('conversation.routed', { decision: decision(0) }),
    ev('conversation.overflowed', { fromGroup: 'orders', to: { group: 'general' }, reason: 'nobody_online' }),
    ev('conversation.offered', offer('o1', 'ada')),
    ev('conversation.offer_ended', { offerId: 'o1', agentId: 'ada', outcome: 'expired' }),
    ev('conversation.offered', offer('o2', 'bob')),
    ev('conversation.assigned', { agentId: 'bob', offerId: 'o2' }),
    ev('conversation.queued', { reason: 'agent_timeout', group: 'general' }),
    ev('conversation.routed', { decision: decision(50) }),
    ev('conversation.offered', offer('o3', 'bob', 'sticky')),
  ];
  const explained = explainRouting('c1', events);
  assert.equal(explained.decisions, 2);
  assert.equal(explained.decision?.priority, 50);
  assert.deepEqual(explained.offers.map((o) => [o.offerId, o.agentId, o.outcome]), [['o1', 'ada', 'expired'], ['o2', 'bob', 'accepted'], ['o3', 'bob', 'open']]);
  assert.equal(explained.offers[1]?.endedAt, events[6]?.at);
  assert.deepEqual(explained.overflows, [{ at: events[2]?.at, fromGroup: 'orders', to: { group: 'general' }, reason: 'nobody_online' }]);
  assert.deepEqual(explained.assigned, { agentId: 'bob', offerId: 'o2', at: events[6]?.at });
});

test('a conversation never routed has no decision and no offers', () => {
  assert.deepEqual(explainRouting('c2', [ev('conversation.created', { visitor: { id: 'v', site: 's' } })]), { conversationId: 'c2', decision: null, decisions: 0, offers: [], overflows: [], assigned: null });
});

test('says why the chosen agent won: sticky, or least busy of the eligible', () => {
  assert.match(whyChosen(offer('o', 'ada', 'sticky')), /ada served this customer last/);
  assert.equal(whyChosen(offer('o', 'ada')), 'ada was the least busy of 2 eligible agents (0/3 conversations)');
  const tied = { ...offer('o', 'ada'), candidates: [{ agentId: 'ada', load: 1, maxConcurrent: 3, idleSinceMs: 1 }, { agentId: 'bob', load: 1, maxConcurrent: 3, idleSinceMs: 5 }] };
  assert.match(whyChosen(tied), /idle longest among those as busy/);
});
