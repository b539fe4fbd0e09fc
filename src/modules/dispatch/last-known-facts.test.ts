import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unknownBusinessFacts, type BusinessFacts } from './business-facts.ts';
import { wantsLastKnown, withLastKnown, type LastKnownFacts } from './last-known-facts.ts';

const EARLIER = '2026-12-01T09:00:00.000Z';
const NOW = '2026-12-02T10:00:00.000Z';
const tierVip: LastKnownFacts = {
  facts: { 'customer.tier': 'vip', 'customer.language': 'de', 'customer.lifetimeValueEur': 900 },
  source: { name: 'customer', connector: 'crm', status: 'ok', fetchedAt: EARLIER },
};

test('a source that missed the deadline answers from its last known copy: stale, its fetchedAt, today\'s reason', () => {
  const today = unknownBusinessFacts('UPSTREAM_TIMEOUT');
  assert.deepEqual(wantsLastKnown(today), ['customer', 'orders', 'tickets']);
  const merged = withLastKnown(today, { customer: tierVip });
  assert.equal(merged.facts['customer.tier'], 'vip');
  assert.deepEqual(merged.sources[0], { name: 'customer', connector: 'crm', status: 'stale', fetchedAt: EARLIER, reason: 'UPSTREAM_TIMEOUT' });
  assert.deepEqual(merged.sources.slice(1).map((s) => [s.name, s.status]), [['orders', 'missing'], ['tickets', 'missing']], 'no copy: still missing');
  assert.deepEqual(merged.remember, {}, 'a stand-in is not stored again');
});

test('no customer, or no account in that system: nothing stands in', () => {
  assert.deepEqual(wantsLastKnown(unknownBusinessFacts('NO_CUSTOMER')), []);
  const notProvided = unknownBusinessFacts('NOT_PROVIDED');
  assert.deepEqual(withLastKnown(notProvided, { customer: tierVip }).sources[0], { name: 'customer', status: 'missing', reason: 'NOT_PROVIDED' });
});

test('live answers are remembered per source; a stale answer keeps the newer of the two copies', () => {
  const today: BusinessFacts = {
    facts: { 'customer.tier': 'gold', 'customer.language': null, 'customer.lifetimeValueEur': null, 'orders.openCount': 2, 'orders.openValueMaxEur': 600, 'tickets.openCount': null, 'tickets.openUrgentCount': null },
    sources: [
      { name: 'customer', connector: 'crm', status: 'stale', fetchedAt: '2026-11-30T00:00:00.000Z', reason: 'CIRCUIT_OPEN' },
      { name: 'orders', connector: 'orders', status: 'ok', fetchedAt: NOW },
      { name: 'tickets', connector: 'tickets', status: 'missing', reason: 'UPSTREAM_UNAVAILABLE' },
    ],
  };
  const merged = withLastKnown(today, { customer: tierVip });
  assert.deepEqual(merged.sources[0], { name: 'customer', connector: 'crm', status: 'stale', fetchedAt: EARLIER, reason: 'CIRCUIT_OPEN' }, 'routing\'s copy is newer');
  assert.equal(merged.facts['customer.tier'], 'vip');
  assert.deepEqual(Object.keys(merged.remember), ['orders']);
  assert.deepEqual(merged.remember.orders, { facts: { 'orders.openCount': 2, 'orders.openValueMaxEur': 600 }, source: today.sources[1] });
  const older = withLastKnown(today, { customer: { ...tierVip, source: { ...tierVip.source, fetchedAt: '2026-11-01T00:00:00.000Z' } } });
  assert.equal(older.facts['customer.tier'], 'gold', 'the query layer\'s copy is newer: kept');
  assert.deepEqual(Object.keys(older.remember), ['customer', 'orders']);
});
