// Consumer side of contracts/orders-java-orders.json: the orders connector's real operations,
// run against a Pact mock server that answers as the contract says.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MatchersV3 as m, type PactV3 } from '@pact-foundation/pact';
import { NotFoundError, type ConnectorContext } from 'omnigate/sdk';
import orders from '../../connectors/orders-java/src/index.ts';
import type { OrdersConfig } from '../../connectors/orders-java/src/config.ts';
import { repoContract, schemas } from './support/contract-consumer.ts';

const contract = await repoContract('orders-java', 'orders');

// Placeholders: the provider verification swaps in the backend's real credentials.
const CLIENT = { clientId: 'contract-client', clientSecret: 'contract-secret' };
const TOKEN = 'contract-token';
const JSON_HEADERS = { 'Content-Type': m.regex('^application/json(;.*)?$', 'application/json') };

const ORDER = {
  orderId: m.regex('^ORD-\\d{7}$', 'ORD-0000001'),
  customerNo: m.regex('^C-\\d+$', 'C-100150'),
  status: m.regex('^(NEW|PAYMENT_PENDING|PAID|IN_DELIVERY|DELIVERED|CANCELLED|RETURNED)$', 'DELIVERED'),
  currency: m.regex('^[A-Z]{3}$', 'EUR'),
  totalAmountMinor: m.integer(176398),
  createdAt: m.regex('^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?$', '2025-10-08T15:23:20'),
  lines: m.eachLike({ lineNo: m.integer(1), sku: m.string('SKU-MN-04'), productName: m.string('27" monitor'), quantity: m.integer(3), unitPriceMinor: m.integer(32900) }),
};

/** auth() runs at load: every exchange starts with the token, as at the gateway. */
function withToken(pact: PactV3): PactV3 {
  return pact
    .uponReceiving('a client-credentials token request')
    .withRequest({
      method: 'POST',
      path: '/oauth/token',
      headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
      contentType: 'application/x-www-form-urlencoded',
      body: `grant_type=client_credentials&client_id=${CLIENT.clientId}&client_secret=${CLIENT.clientSecret}`,
    })
    .willRespondWith({
      status: 200,
      headers: JSON_HEADERS,
      body: { access_token: m.string(TOKEN), token_type: 'Bearer', expires_in: m.integer(300) },
    });
}

const authorized = { Accept: 'application/json', Authorization: m.regex('^Bearer \\S+$', `Bearer ${TOKEN}`) };

const run = (work: (ctx: ConnectorContext<OrdersConfig>) => Promise<void>) =>
  contract.execute(orders, (baseUrl) => ({ baseUrl, ...CLIENT, timeZone: 'Europe/Berlin' }), work);

test('order.get maps a recorded order to a schema-valid canonical Order', async () => {
  withToken(contract.pact)
    .given('an order exists', { orderId: 'ORD-0000001' })
    .uponReceiving('a request for one order')
    .withRequest({ method: 'GET', path: '/api/orders/ORD-0000001', headers: authorized })
    .willRespondWith({ status: 200, headers: JSON_HEADERS, body: ORDER });
  await run(async (ctx) => {
    const order = (await orders.query('order.get', { id: 'ORD-0000001' }, ctx)) as Record<string, unknown>;
    assert.equal(schemas.validatorFor('Order')(order), true);
    assert.deepEqual([order.id, order.status, order.sourceStatus], ['ORD-0000001', 'delivered', 'DELIVERED']);
    assert.deepEqual(order.total, { amount: '1763.98', currency: 'EUR' });
  });
});

test('order.get reports an unknown order as NOT_FOUND from the Spring error reply', async () => {
  withToken(contract.pact)
    .given('no order exists', { orderId: 'ORD-9999999' })
    .uponReceiving('a request for an unknown order')
    .withRequest({ method: 'GET', path: '/api/orders/ORD-9999999', headers: authorized })
    .willRespondWith({
      status: 404,
      headers: JSON_HEADERS,
      body: { status: 404, error: m.string('Not Found'), message: m.string('order ORD-9999999 not found'), path: '/api/orders/ORD-9999999' },
    });
  await run(async (ctx) => {
    await assert.rejects(orders.query('order.get', { id: 'ORD-9999999' }, ctx), NotFoundError);
  });
});

test("order.list maps a recorded Spring page of a customer's orders to a canonical 1-based page", async () => {
  withToken(contract.pact)
    .given('a customer has orders', { customerNo: 'C-100042' })
    .uponReceiving("a request for the first page of a customer's orders")
    .withRequest({ method: 'GET', path: '/api/customers/C-100042/orders', query: { page: '0', size: '20' }, headers: authorized })
    .willRespondWith({
      status: 200,
      headers: JSON_HEADERS,
      body: { content: m.eachLike(ORDER), totalElements: m.integer(24), totalPages: m.integer(2), number: 0, size: 20, first: true, last: m.boolean(false) },
    });
  await run(async (ctx) => {
    const page = (await orders.query('order.list', { customerRef: 'C-100042', page: 1, pageSize: 20 }, ctx)) as { page: unknown };
    assert.equal(schemas.validatorFor('Page<Order>')(page), true);
    assert.deepEqual(page.page, { number: 1, size: 20, totalItems: 24, hasMore: true });
  });
});

test('product.list maps the recorded catalogue to one canonical page of every product', async () => {
  withToken(contract.pact)
    .given('the catalogue has a product', { sku: 'SKU-MN-04' })
    .uponReceiving('a request for the product catalogue')
    .withRequest({ method: 'GET', path: '/api/products', headers: authorized })
    .willRespondWith({
      status: 200,
      headers: JSON_HEADERS,
      body: m.eachLike({ sku: m.string('SKU-MN-04'), name: m.string('27" monitor'), unitPriceMinor: m.integer(32900), currency: m.regex('^[A-Z]{3}$', 'EUR') }),
    });
  await run(async (ctx) => {
    const page = (await orders.query('product.list', {}, ctx)) as { items: unknown[]; page: unknown };
    assert.equal(schemas.validatorFor('Page<Product>')(page), true);
    assert.deepEqual(page.items, [{ sku: 'SKU-MN-04', name: '27" monitor', price: { amount: '329.00', currency: 'EUR' } }]);
    assert.deepEqual(page.page, { number: 1, size: 1, totalItems: 1, hasMore: false });
  });
});

test('the recorded contract is the committed contracts/orders-java-orders.json', () => contract.settle());
