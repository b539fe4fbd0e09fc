import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ago, partMessage } from './sidebar-messages.ts';

const staleness = (ageMs: number) => ({ ageMs, storedAt: new Date(Date.now() - ageMs).toISOString(), reason: { code: 'UPSTREAM_UNAVAILABLE' as const, detail: 'down' } });
const error = (code: 'UPSTREAM_TIMEOUT' | 'NOT_FOUND' | 'UPSTREAM_UNAVAILABLE') => ({ code, detail: 'x', retryable: code !== 'NOT_FOUND' });

test('says how old a stale part is in the largest whole unit', () => {
  assert.equal(partMessage('orders', { status: 'stale', staleness: staleness(4 * 60_000 + 59_000) }), 'Orders are unavailable; showing data from 4 minutes ago');
  assert.equal(partMessage('customer', { status: 'stale', staleness: staleness(3_600_000) }), 'The customer profile is unavailable; showing data from 1 hour ago');
  assert.equal(partMessage('openTickets', { status: 'stale', staleness: staleness(2 * 86_400_000 + 5) }), 'Tickets are unavailable; showing data from 2 days ago');
  assert.equal(ago(0), '1 second ago');
  assert.equal(ago(1_500), '1 second ago');
  assert.equal(ago(59_999), '59 seconds ago');
});

test('an ok part needs no message; a failed one says so plainly', () => {
  assert.equal(partMessage('orders', { status: 'ok' }), undefined);
  assert.equal(partMessage('openTickets', { status: 'error', error: error('UPSTREAM_TIMEOUT') }), 'Tickets are unavailable right now');
  assert.equal(partMessage('customer', { status: 'error', error: error('NOT_FOUND') }), 'The customer profile is not found in the CRM');
});

test('a skipped part says whether the customer has no account there or the profile linking to it is down', () => {
  assert.equal(partMessage('orders', { status: 'skipped', error: error('NOT_FOUND') }), 'The customer has no account in the orders system');
  assert.equal(
    partMessage('openTickets', { status: 'skipped', error: error('UPSTREAM_UNAVAILABLE') }),
    'Tickets cannot be shown right now: the customer profile, which links to them, is unavailable',
  );
});
