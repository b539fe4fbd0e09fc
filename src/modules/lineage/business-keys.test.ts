import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BusinessKeyDeclaration, CanonicalResult } from '../../sdk/types.ts';
import { businessKeysOf, MAX_BUSINESS_KEYS } from './business-keys.ts';

const ORDER_KEYS: readonly BusinessKeyDeclaration[] = [
  { type: 'order', path: 'id' },
  { type: 'customer', path: 'customerRef' },
  { type: 'product', path: 'lines[].sku' },
];
const declared = (result: CanonicalResult, businessKeys: readonly BusinessKeyDeclaration[] = ORDER_KEYS) => ({ result, businessKeys });
const order = (id: string, customerRef: string, ...skus: string[]) => ({ id, customerRef, status: 'paid', lines: skus.map((sku) => ({ sku, quantity: 1 })) });

test('a single result: its id, its customer and every sku of its lines (nested arrays), each once', () => {
  const keys = businessKeysOf('orders', declared('Order'), order('ORD-1', 'C-100042', 'SKU-A', 'SKU-B', 'SKU-A'));
  assert.deepEqual(keys, [
    { system: 'orders', type: 'order', id: 'ORD-1' },
    { system: 'orders', type: 'customer', id: 'C-100042' },
    { system: 'orders', type: 'product', id: 'SKU-A' },
    { system: 'orders', type: 'product', id: 'SKU-B' },
  ]);
});

test('a Page<…> result: every item is walked, keys shared by items are deduped', () => {
  const page = { items: [order('ORD-1', 'C-7', 'SKU-A'), order('ORD-2', 'C-7', 'SKU-A', 'SKU-C')], page: { size: 20, hasMore: false } };
  assert.deepEqual(businessKeysOf('orders', declared('Page<Order>'), page), [
    { system: 'orders', type: 'order', id: 'ORD-1' },
    { system: 'orders', type: 'customer', id: 'C-7' },
    { system: 'orders', type: 'product', id: 'SKU-A' },
    { system: 'orders', type: 'order', id: 'ORD-2' },
    { system: 'orders', type: 'product', id: 'SKU-C' },
  ]);
  assert.deepEqual(businessKeysOf('orders', declared('Page<Order>'), { items: 'not a list' }), []);
  assert.deepEqual(businessKeysOf('orders', declared('Page<Order>'), order('ORD-1', 'C-7')), [], 'a page declaration reads only items');
});

test('missing fields, non-string and empty values, and paths through non-objects are skipped', () => {
  const keys = businessKeysOf('orders', declared('Order'), { id: 42, customerRef: '', lines: [{ name: 'no sku' }, { sku: null }, 'a string', { sku: 'SKU-OK' }] });
  assert.deepEqual(keys, [{ system: 'orders', type: 'product', id: 'SKU-OK' }]);
  assert.deepEqual(businessKeysOf('orders', declared('Order'), { lines: { sku: 'SKU-X' } }), [], 'lines[] needs an array');
  assert.deepEqual(businessKeysOf('orders', declared('Order'), undefined), []);
  assert.deepEqual(businessKeysOf('orders', declared('Order'), { id: 'x'.repeat(257) }), [], 'too long to be an id');
  assert.deepEqual(businessKeysOf('orders', declared('Order', [{ type: 'order', path: 'constructor' }]), {}), [], 'never a prototype field');
});

test("a declaration's own system wins over the connector's; dotted paths reach into objects", () => {
  const customer = { id: '42', email: 'q@example.com', externalIds: { orders: 'C-100042', tickets: 'u_f42b2537' } };
  const keys = businessKeysOf('crm', declared('Customer', [
    { type: 'customer', path: 'id' },
    { type: 'customer', path: 'externalIds.orders', system: 'orders' },
    { type: 'requester', path: 'externalIds.tickets', system: 'tickets' },
  ]), customer);
  assert.deepEqual(keys, [
    { system: 'crm', type: 'customer', id: '42' },
    { system: 'orders', type: 'customer', id: 'C-100042' },
    { system: 'tickets', type: 'requester', id: 'u_f42b2537' },
  ]);
});

test('a param named like a plain-field key names that record too, first: a failed call (no result) keeps its key', () => {
  assert.deepEqual(businessKeysOf('orders', declared('Order'), undefined, { id: 'ORD-404' }), [{ system: 'orders', type: 'order', id: 'ORD-404' }]);
  assert.deepEqual(businessKeysOf('orders', declared('Page<Order>'), { items: [order('ORD-1', 'C-7')] }, { customerRef: 'C-7', page: 1 }), [
    { system: 'orders', type: 'customer', id: 'C-7' },
    { system: 'orders', type: 'order', id: 'ORD-1' },
  ]);
  assert.deepEqual(businessKeysOf('orders', declared('Order'), undefined, { lines: ['SKU-A'], sku: 'SKU-A' }), [], 'array paths are never read from params');
});

test('no declaration, no keys; a declaration with an invalid path is ignored', () => {
  assert.deepEqual(businessKeysOf('orders', { result: 'Order' }, order('ORD-1', 'C-7')), []);
  assert.deepEqual(businessKeysOf('orders', declared('Order', [{ type: 'order', path: 'a..b' }, { type: 'order', path: 'id' }]), order('ORD-1', 'C-7')), [{ system: 'orders', type: 'order', id: 'ORD-1' }]);
});

test(`bounded: at most ${MAX_BUSINESS_KEYS} keys, whatever the result holds`, () => {
  const items = Array.from({ length: 100 }, (_, i) => order(`ORD-${i}`, `C-${i}`, `SKU-${i}-a`, `SKU-${i}-b`));
  const keys = businessKeysOf('orders', declared('Page<Order>'), { items });
  assert.equal(keys.length, MAX_BUSINESS_KEYS);
  assert.deepEqual(keys[0], { system: 'orders', type: 'order', id: 'ORD-0' });
  assert.equal(new Set(keys.map((k) => `${k.type}/${k.id}`)).size, MAX_BUSINESS_KEYS);
});
