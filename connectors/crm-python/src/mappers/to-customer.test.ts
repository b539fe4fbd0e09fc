import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BadUpstreamDataError } from 'omnigate/sdk';
import { createSchemaRegistry } from '../../../../src/kernel/schemas.ts';
import { toCustomer } from './to-customer.ts';
import { toCustomerPage } from './to-customer-page.ts';

const fixture = (name: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
const schemas = createSchemaRegistry(new URL('../../../../schemas', import.meta.url).pathname);

test('maps a recorded DRF customer to a schema-valid canonical Customer with the other systems\' ids', () => {
  const raw = fixture('customer.json');
  const customer = toCustomer(raw);
  assert.equal(schemas.validatorFor('Customer')(customer), true);
  assert.equal(customer.id, '42');
  assert.deepEqual(customer.externalIds, {
    orders: (raw.external_ids as Record<string, string>).orders_customer_no,
    tickets: (raw.external_ids as Record<string, string>).tickets_user_id,
  });
});

test('normalises zoned timestamps to UTC and decimal strings to two-digit money', () => {
  const customer = toCustomer({ ...fixture('customer.json'), created_at: '2023-05-01T10:00:00+02:00', lifetime_value: '12.5' });
  assert.equal(customer.createdAt, '2023-05-01T08:00:00.000Z');
  assert.deepEqual(customer.lifetimeValue, { amount: '12.50', currency: 'EUR' });
});

test('names the broken field when the CRM sends garbage', () => {
  assert.throws(() => toCustomer({ ...fixture('customer.json'), email: 12345 }), (err: unknown) => err instanceof BadUpstreamDataError && err.field === 'customer.email');
  assert.throws(() => toCustomer({ ...fixture('customer.json'), created_at: 'not a date' }), (err: unknown) => err instanceof BadUpstreamDataError && err.field === 'customer.created_at');
});

test('maps a recorded DRF page and tells whether more pages follow', () => {
  const page = toCustomerPage(fixture('customers-page.json'), 2, 2) as { items: unknown[]; page: { totalItems: number; hasMore: boolean } };
  assert.equal(schemas.validatorFor('Page<Customer>')(page), true);
  assert.equal(page.items.length, 2);
  assert.equal(page.page.totalItems, 1000);
  assert.equal(page.page.hasMore, true);
});

test('keeps the CRM fields the model has no place for in attributes, ids of unnamed systems under external_ids; none: no attributes', () => {
  const raw = fixture('customer.json');
  assert.equal('attributes' in toCustomer(raw), false, 'the recorded customer has nothing unmapped');
  const customer = toCustomer({ ...raw, loyalty_points: 120, segment: 'b2b', external_ids: { ...(raw.external_ids as object), billing_account: 'BA-9' } });
  assert.deepEqual(customer.attributes, { loyalty_points: 120, segment: 'b2b', external_ids: { billing_account: 'BA-9' } });
  assert.equal(schemas.validatorFor('Customer')(customer), true);
});

test('attributes stay within the schema\'s bounds however many fields the CRM adds', () => {
  const extra = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`custom_${i}`, i]));
  const customer = toCustomer({ ...fixture('customer.json'), ...extra, ['x'.repeat(80)]: 'key too long' });
  assert.equal(Object.keys(customer.attributes as object).length, 50);
  assert.equal(schemas.validatorFor('Customer')(customer), true);
});
