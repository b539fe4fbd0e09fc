import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../kernel/errors.ts';
import { initialState } from '../chat/conversation.decider.ts';
import { customerKeyOf, isRefusal } from './dispatch-context.ts';
import { offerRecordOf } from './dispatch-offers.ts';
import { estimatedWaitMs } from './queue-positions.ts';

test('sticky routing remembers the verified customer, else the visitor', () => {
  const base = initialState();
  assert.equal(customerKeyOf({ ...base, visitor: { id: 'v1', site: 's', customerId: '42' } }), 'customer:42');
  assert.equal(customerKeyOf({ ...base, visitor: { id: 'v1', site: 's' } }), 'visitor:v1');
  assert.equal(customerKeyOf(base), undefined);
});

test('a refusal is the conversation having moved on; a store or race failure is not', () => {
  for (const code of ['INVALID_TRANSITION', 'NOT_FOUND', 'CONVERSATION_ALREADY_ASSIGNED', 'OFFER_EXPIRED'] as const) assert.ok(isRefusal(new AppError(code, 'x')), code);
  for (const code of ['STORE_UNAVAILABLE', 'CONVERSATION_BUSY', 'INTERNAL'] as const) assert.ok(!isRefusal(new AppError(code, 'x')), code);
  assert.ok(!isRefusal(new Error('socket closed')));
});

test('the estimated wait follows the group pace over the last minute, null without one', () => {
  assert.equal(estimatedWaitMs(3, { assignedLastMinute: 6 }), 30_000);
  assert.equal(estimatedWaitMs(1, { assignedLastMinute: 0 }), null);
  assert.equal(estimatedWaitMs(1, undefined), null);
});

test('the stream records a claim as who, until when and why', () => {
  const record = offerRecordOf({
    offer: { offerId: 'o1', conversationId: 'c1', agentId: 'ada', group: 'general', madeAtMs: 0, expiresAtMs: Date.parse('2026-12-02T10:00:30Z'), state: 'open' },
    entry: { conversationId: 'c1', group: 'general', priority: 50, enqueuedAtMs: 0, skills: [], rank: -50_000 },
    reason: 'sticky', candidates: [{ agentId: 'ada', load: 1, maxConcurrent: 3, idleSinceMs: 5 }], passedOver: 2,
  }, false);
  assert.deepEqual(record, {
    offerId: 'o1', agentId: 'ada', expiresAt: '2026-12-02T10:00:30.000Z', autoAssign: false, reason: 'sticky',
    candidates: [{ agentId: 'ada', load: 1, maxConcurrent: 3, idleSinceMs: 5 }], passedOver: 2,
  });
});
