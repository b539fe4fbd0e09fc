import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BadUpstreamDataError } from 'omnigate/sdk';
import { createSchemaRegistry } from '../../../../src/kernel/schemas.ts';
import { toOrder } from './to-order.ts';
import { toOrderPage } from './to-order-page.ts';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
const schemas = createSchemaRegistry(new URL('../../../../schemas', import.meta.url).pathname);

test('maps a recorded order to a schema-valid canonical Order', () => {
  const order = toOrder(fixture('order.json'), 'Europe/Berlin');
  assert.equal(schemas.validatorFor('Order')(order), true);
  assert.equal(order.id, 'ORD-0000001');
});

test('turns minor units into exact decimal money and local Berlin time into UTC', () => {
  const raw = { orderId: 'ORD-1', customerNo: 'C-1', status: 'PAID', currency: 'EUR', totalAmountMinor: 1005, createdAt: '2024-07-01T12:00:00',
    lines: [{ lineNo: 1, sku: 'S', productName: 'P', quantity: 3, unitPriceMinor: 335 }] };
  const order = toOrder(raw, 'Europe/Berlin') as { total: unknown; createdAt: string; lines: { lineTotal: unknown }[] };
  assert.deepEqual(order.total, { amount: '10.05', currency: 'EUR' });
  assert.equal(order.createdAt, '2024-07-01T10:00:00.000Z');
  assert.deepEqual(order.lines[0]?.lineTotal, { amount: '10.05', currency: 'EUR' });
});

test('maps every status of the orders vocabulary; one it does not know is `other`, with what the source said', () => {
  const base = { orderId: 'O', customerNo: 'C', currency: 'EUR', totalAmountMinor: 0, createdAt: '2024-01-01T00:00:00', lines: [] };
  assert.equal(toOrder({ ...base, status: 'IN_DELIVERY' }, 'UTC').status, 'shipped');
  assert.equal(toOrder({ ...base, status: 'PAYMENT_PENDING' }, 'UTC').status, 'pending');
  const lost = toOrder({ ...base, status: 'LOST' }, 'UTC');
  assert.deepEqual([lost.status, lost.sourceStatus], ['other', 'LOST']);
  assert.equal(schemas.validatorFor('Order')(lost), true);
  assert.throws(() => toOrder({ ...base, status: 42 }, 'UTC'), (err: unknown) => err instanceof BadUpstreamDataError && err.field === 'order.status');
});

test('names the broken field when the backend sends garbage', () => {
  const garbage = { ...(fixture('order.json') as object), totalAmountMinor: 'lots' };
  assert.throws(() => toOrder(garbage, 'UTC'), (err: unknown) => err instanceof BadUpstreamDataError && err.field === 'order.totalAmountMinor');
});

test('maps a recorded Spring page to a 1-based canonical page', () => {
  const page = toOrderPage(fixture('customer-orders-page.json'), 'Europe/Berlin') as { page: { number: number; hasMore: boolean } };
  assert.equal(schemas.validatorFor('Page<Order>')(page), true);
  assert.equal(page.page.number, 1);
  assert.equal(page.page.hasMore, true);
});

test('keeps what the model has no place for: each line\'s lineNo in its attributes, an unmapped order field in the order\'s', () => {
  const recorded = fixture('order.json') as Record<string, unknown>;
  const order = toOrder(recorded, 'Europe/Berlin') as { attributes?: unknown; lines: { attributes?: unknown }[] };
  assert.deepEqual(order.lines.map((l) => l.attributes), [{ lineNo: 1 }, { lineNo: 2 }, { lineNo: 3 }]);
  assert.equal(order.attributes, undefined, 'every order field of the recording is mapped');
  const tracked = toOrder({ ...recorded, trackingNumber: 'DHL-123', giftWrap: true }, 'Europe/Berlin');
  assert.deepEqual(tracked.attributes, { trackingNumber: 'DHL-123', giftWrap: true });
  assert.equal(schemas.validatorFor('Order')(tracked), true);
});
