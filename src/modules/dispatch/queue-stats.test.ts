import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { GroupStats } from '../../ports/dispatch-store.ts';
import { statsSignature, toQueuesView, toQueueView, withDeadline } from './queue-stats.ts';

const T0 = Date.parse('2026-12-02T10:00:00.000Z');

const group = (name: string, extra: Partial<GroupStats> = {}): GroupStats => ({
  group: name,
  queued: 2,
  oldestEnqueuedAtMs: T0 - 90_000,
  openOffers: 1,
  agents: { online: 3, away: 1, offline: 2, load: 4, capacity: 9 },
  counters: { offered: 10, accepted: 6, declined: 1, expired: 2, assigned: 7, overflowed: 3 },
  assignedLastMinute: 5,
  ...extra,
});

describe('queue numbers for supervisors', () => {
  test('a group is shaped with its wait measured at the reading, offers by outcome and assignments with their rate per second', () => {
    assert.deepEqual(toQueueView(group('orders'), T0), {
      group: 'orders',
      queued: 2,
      oldestEnqueuedAt: '2026-12-02T09:58:30.000Z',
      longestWaitMs: 90_000,
      openOffers: 1,
      offers: { made: 10, accepted: 6, declined: 1, expired: 2 },
      assignments: { total: 7, lastMinute: 5, perSecond: 0.083 },
      overflowed: 3,
      agents: { online: 3, away: 1, offline: 2, load: 4, capacity: 9 },
    });
  });

  test('an empty queue waits 0 ms and has no oldest entry', () => {
    const { oldestEnqueuedAtMs: _, ...empty } = group('sales', { queued: 0 });
    const view = toQueueView(empty, T0);
    assert.equal(view.longestWaitMs, 0);
    assert.equal('oldestEnqueuedAt' in view, false);
  });

  test('an entry stamped by a node whose clock runs ahead never shows a negative wait', () => {
    assert.equal(toQueueView(group('sales', { oldestEnqueuedAtMs: T0 + 500 }), T0).longestWaitMs, 0);
  });

  test('the groups come by name, with the time of the reading', () => {
    const view = toQueuesView([group('support'), group('orders'), group('billing')], T0);
    assert.equal(view.at, '2026-12-02T10:00:00.000Z');
    assert.deepEqual(view.queues.map((q) => q.group), ['billing', 'orders', 'support']);
  });

  test('the signature ignores the groups\' order, and changes with any number but not with time alone', () => {
    const before = [group('orders'), group('sales')];
    assert.equal(statsSignature(before), statsSignature([group('sales'), group('orders')]));
    assert.notEqual(statsSignature(before), statsSignature([group('orders'), group('sales', { queued: 3 })]));
    assert.notEqual(statsSignature(before), statsSignature([group('orders'), group('sales', { agents: { online: 2, away: 2, offline: 2, load: 4, capacity: 9 } })]));
    assert.notEqual(statsSignature(before), statsSignature([group('orders', { counters: { ...group('x').counters, expired: 3 } }), group('sales')]));
    assert.notEqual(statsSignature(before), statsSignature([group('orders')]));
  });
});

describe('a read with a deadline', () => {
  test('answers what the read answers in time', async () => {
    assert.equal(await withDeadline(Promise.resolve(42), 1_000), 42);
  });

  test('answers undefined once the deadline passes, however long the read takes', async () => {
    assert.equal(await withDeadline(new Promise<number>(() => undefined), 5), undefined);
  });

  test('passes a failed read on', async () => {
    await assert.rejects(withDeadline(Promise.reject(new Error('redis away')), 1_000), /redis away/);
  });
});
