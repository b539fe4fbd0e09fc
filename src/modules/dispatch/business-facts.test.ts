import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContextPart, CustomerContext } from '../query/context.service.ts';
import { businessFacts } from './business-facts.ts';

const AT = '2026-12-02T10:00:00.000Z';
const ok = (connector: string, data: unknown): ContextPart => ({ status: 'ok', connector, latencyMs: 3, data });
const contextOf = (parts: Partial<CustomerContext['parts']>): CustomerContext => ({
  customerId: '7',
  complete: false,
  parts: {
    customer: ok('crm', { tier: 'gold', language: 'de', lifetimeValue: { amount: '1200.50', currency: 'EUR' } }),
    orders: ok('orders', []),
    openTickets: ok('tickets', []),
    ...parts,
  },
});

test('a CRM without tiers: customer.tier is unknown (null), the source still ok', () => {
  const { facts, sources } = businessFacts(contextOf({ customer: ok('crm', { language: 'de' }) }), AT, false);
  assert.equal(facts['customer.tier'], null);
  assert.equal(facts['customer.language'], 'de');
  assert.equal(facts['customer.lifetimeValueEur'], null);
  assert.deepEqual(sources[0], { name: 'customer', connector: 'crm', status: 'ok', fetchedAt: AT });
});

test('open orders: counted by status, the largest EUR value; none open is 0, open in other currencies only is unknown', () => {
  const orders = [
    { status: 'paid', total: { amount: '720.00', currency: 'EUR' } },
    { status: 'shipped', total: { amount: '90.10', currency: 'EUR' } },
    { status: 'delivered', total: { amount: '9000.00', currency: 'EUR' } },
  ];
  assert.deepEqual(businessFacts(contextOf({ orders: ok('o', orders) }), AT, false).facts['orders.openValueMaxEur'], 720);
  assert.deepEqual(businessFacts(contextOf({ orders: ok('o', orders) }), AT, false).facts['orders.openCount'], 2);
  assert.equal(businessFacts(contextOf({ orders: ok('o', [orders[2]]) }), AT, false).facts['orders.openValueMaxEur'], 0);
  assert.equal(businessFacts(contextOf({ orders: ok('o', [{ status: 'pending', total: { amount: '5.00', currency: 'USD' } }]) }), AT, false).facts['orders.openValueMaxEur'], null);
});

test('open urgent tickets are counted', () => {
  const tickets = [{ priority: 'urgent' }, { priority: 'low' }, { priority: 'urgent' }];
  const { facts } = businessFacts(contextOf({ openTickets: ok('t', tickets) }), AT, false);
  assert.equal(facts['tickets.openCount'], 3);
  assert.equal(facts['tickets.openUrgentCount'], 2);
});

test('stale parts are used and marked with when they were stored; failed parts are missing with why', () => {
  const stale: ContextPart = { ...ok('crm', { tier: 'vip' }), status: 'stale', staleness: { ageMs: 5000, storedAt: '2026-12-02T09:59:55.000Z', reason: { code: 'CIRCUIT_OPEN', detail: 'paused' } } };
  const failed: ContextPart = { status: 'error', connector: 'orders', latencyMs: 9, error: { code: 'UPSTREAM_UNAVAILABLE', detail: 'down', retryable: true } };
  const skipped: ContextPart = { status: 'skipped', latencyMs: 0, error: { code: 'NOT_FOUND', detail: 'no id', retryable: false } };
  const { facts, sources } = businessFacts(contextOf({ customer: stale, orders: failed, openTickets: skipped }), AT, false);
  assert.equal(facts['customer.tier'], 'vip');
  assert.deepEqual(sources, [
    { name: 'customer', connector: 'crm', status: 'stale', fetchedAt: '2026-12-02T09:59:55.000Z', reason: 'CIRCUIT_OPEN' },
    { name: 'orders', connector: 'orders', status: 'missing', reason: 'UPSTREAM_UNAVAILABLE' },
    { name: 'tickets', status: 'missing', reason: 'NOT_PROVIDED' },
  ]);
  assert.equal(facts['orders.openCount'], null);
  // Cut short by the deadline: what was still running is a timeout.
  assert.equal(businessFacts(contextOf({ orders: failed }), AT, true).sources[1]?.reason, 'UPSTREAM_TIMEOUT');
});

test('a customer with only an id and a display name: every customer fact unknown (null), none invented, the source ok', () => {
  const { facts, sources } = businessFacts(contextOf({ customer: ok('crm', { id: 'owner-6', displayName: 'George Franklin', attributes: { tier: 'gold' } }) }), AT, false);
  assert.deepEqual([facts['customer.tier'], facts['customer.language'], facts['customer.lifetimeValueEur']], [null, null, null]);
  assert.equal(sources[0]?.status, 'ok');
});

test('open tickets with a status the model has no name for (`other`) still count', () => {
  const tickets = [{ status: 'other', sourceStatus: 'on-hold', isOpen: true, priority: 'urgent', channel: 'other' }];
  assert.equal(businessFacts(contextOf({ openTickets: ok('tickets', tickets) }), AT, false).facts['tickets.openUrgentCount'], 1);
});

test('an order in a status the model has no name for (`other`) is not known to be finished: it counts as open', () => {
  const orders = [{ status: 'other', sourceStatus: 'ON_HOLD', total: { amount: '310.00', currency: 'EUR' } }, { status: 'delivered', total: { amount: '9000.00', currency: 'EUR' } }];
  const { facts } = businessFacts(contextOf({ orders: ok('o', orders) }), AT, false);
  assert.deepEqual([facts['orders.openCount'], facts['orders.openValueMaxEur']], [1, 310]);
});
