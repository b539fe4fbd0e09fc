import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { assertMatchesSpec } from '../support/spec.ts';

let gw: TestGateway;
before(async () => {
  gw = await startTestGateway();
});
after(() => gw.stop());

const json = async (res: Response): Promise<any> => res.json();

describe('the unified query API over the three real backends', () => {
  test('lists customers in pages and filters them by email', async () => {
    const page = await assertMatchesSpec(await gw.api('/v1/customers?page=2&pageSize=5'), 'listCustomers');
    assert.equal(page.capability, 'customer.list');
    assert.equal(page.data.items.length, 5);
    assert.deepEqual(page.data.page, { number: 2, size: 5, totalItems: 1000, hasMore: true });
    assert.equal(page.source.connector, 'crm-python');

    const email = page.data.items[0].email.toUpperCase();
    const filtered = await json(await gw.api(`/v1/customers?email=${encodeURIComponent(email)}`));
    assert.equal(filtered.data.items.length, 1);
    assert.equal(filtered.data.items[0].id, page.data.items[0].id);
  });

  test('gets one customer with the ids the CRM holds for the other systems', async () => {
    const res = await gw.api('/v1/customers/42');
    assert.equal(res.status, 200);
    const body = await assertMatchesSpec(res, 'getCustomer');
    assert.equal(body.data.id, '42');
    assert.match(body.data.externalIds.orders, /^C-\d+$/);
    assert.match(body.data.externalIds.tickets, /^u_[0-9a-f]{8}$/);
    assert.match(body.data.createdAt, /Z$/);
    assert.match(body.data.lifetimeValue.amount, /^\d+\.\d{2}$/);
    assert.equal(body.traceId, res.headers.get('traceparent')?.split('-')[1]);
  });

  test("lists a customer's orders from the Java backend, newest first, in canonical form", async () => {
    const customer = await json(await gw.api('/v1/customers/42'));
    const body = await assertMatchesSpec(await gw.api('/v1/customers/42/orders?pageSize=3'), 'listCustomerOrders');
    assert.equal(body.source.connector, 'orders-java');
    assert.ok(body.data.items.length > 0);
    for (const order of body.data.items) {
      assert.equal(order.customerRef, customer.data.externalIds.orders);
      assert.match(order.total.amount, /^\d+\.\d{2}$/);
    }
    const times = body.data.items.map((o: { createdAt: string }) => Date.parse(o.createdAt));
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
  });

  test('gets one order by id', async () => {
    const body = await assertMatchesSpec(await gw.api('/v1/orders/ORD-0000001'), 'getOrder');
    assert.equal(body.data.id, 'ORD-0000001');
    assert.ok(['pending', 'paid', 'shipped', 'delivered', 'cancelled', 'returned'].includes(body.data.status));
    const sum = body.data.lines.reduce((s: number, l: { lineTotal: { amount: string } }) => s + Math.round(Number(l.lineTotal.amount) * 100), 0);
    assert.equal(Math.round(Number(body.data.total.amount) * 100), sum);
  });

  test("lists a customer's tickets from the JSON-RPC backend, filtered by status", async () => {
    const body = await assertMatchesSpec(await gw.api('/v1/customers/42/tickets?status=closed,solved&pageSize=50'), 'listCustomerTickets');
    assert.equal(body.source.connector, 'tickets-node');
    for (const ticket of body.data.items) {
      assert.ok(['closed', 'solved'].includes(ticket.status));
      assert.equal(ticket.isOpen, false);
    }
  });

  test('creates a ticket for a customer and can read it back', async () => {
    const res = await gw.api('/v1/tickets', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: '42', subject: 'Parcel missing', description: 'The parcel never arrived.', priority: 'high' }),
    });
    assert.equal(res.status, 201);
    const created = await assertMatchesSpec(res, 'createTicket');
    assert.equal(created.data.status, 'new');
    assert.equal(created.data.priority, 'high');
    assert.equal(res.headers.get('location'), `/v1/tickets/${created.data.id}`);
    const again = await assertMatchesSpec(await gw.api(res.headers.get('location') ?? ''), 'getTicket');
    assert.equal(again.data.subject, 'Parcel missing');
  });

  test('answers the context of a customer with data from all three backends, each part marked ok', async () => {
    const res = await gw.api('/v1/customers/42/context?ordersLimit=3');
    assert.equal(res.status, 200);
    const body = await assertMatchesSpec(res, 'getCustomerContext');
    assert.equal(body.complete, true);
    assert.equal(body.parts.customer.status, 'ok');
    assert.equal(body.parts.customer.connector, 'crm-python');
    assert.equal(body.parts.orders.connector, 'orders-java');
    assert.equal(body.parts.openTickets.connector, 'tickets-node');
    assert.ok(body.parts.orders.data.length <= 3 && body.parts.orders.data.length > 0);
    for (const ticket of body.parts.openTickets.data) assert.equal(ticket.isOpen, true);
    for (const part of Object.values(body.parts) as { latencyMs: number }[]) assert.equal(typeof part.latencyMs, 'number');
  });

  test('runs any declared capability through POST /v1/query', async () => {
    const res = await gw.api('/v1/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ capability: 'ticket.get', params: { id: 'TCK-100001' } }) });
    assert.equal(res.status, 200);
    const body = await assertMatchesSpec(res, 'query');
    assert.equal(body.capability, 'ticket.get');
    assert.equal(body.data.id, 'TCK-100001');
    assert.equal(body.source.system, 'tickets');
  });

  test('refuses params nested deeper than the documented limit with VALIDATION_FAILED, not a 500', async () => {
    const query = (params: string) => gw.api('/v1/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"capability":"order.get","params":${params}}` });
    const deep = await query(`{"id":${'['.repeat(30_000)}${']'.repeat(30_000)}}`);
    assert.equal(deep.status, 400);
    const problem = await assertMatchesSpec(deep, 'query');
    assert.equal(problem.code, 'VALIDATION_FAILED');
    assert.deepEqual(problem.errors.map((e: { in: string; pointer: string }) => [e.in, e.pointer]), [['body', '/params']]);
    assert.match(problem.detail, /deeper than 32 levels/);
    // Within the limit the capability's own params schema decides.
    assert.equal((await query(`{"id":${'['.repeat(31)}${']'.repeat(31)}}`)).status, 400);
    assert.equal((await query('{"id":"ORD-0000001"}')).status, 200);
  });

  test('refuses a requester.ensure email its own Requester schema would refuse, with VALIDATION_FAILED before any call', async () => {
    // Such an email passes "one @, no spaces, a dot in the domain", so the backend took it and
    // echoed it, and the answer then failed the Requester schema: a 502 after a write (fuzz found it).
    const ensure = (email: string) => gw.api('/v1/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ capability: 'requester.ensure', params: { email } }) });
    for (const email of ['\u0007\ud800@example.com', 'jörg@example.de']) {
      const res = await ensure(email);
      assert.equal(res.status, 400, email);
      const problem = await assertMatchesSpec(res, 'query');
      assert.equal(problem.code, 'VALIDATION_FAILED');
      assert.deepEqual(problem.errors.map((e: { in: string; pointer: string }) => [e.in, e.pointer]), [['body', '/params/email']]);
    }
    const ok = await ensure('query-api.requester@example.com');
    assert.equal(ok.status, 200);
    assert.equal((await assertMatchesSpec(ok, 'query')).data.email, 'query-api.requester@example.com');
  });

  test('lists the loaded connectors with their state and capabilities', async () => {
    const body = await assertMatchesSpec(await gw.api('/v1/connectors'), 'listConnectors');
    const byName = Object.fromEntries(body.connectors.map((c: { name: string }) => [c.name, c]));
    assert.deepEqual(Object.keys(byName).sort(), ['crm-python', 'orders-java', 'tickets-node']);
    for (const c of body.connectors) assert.equal(c.state, 'ready');
    assert.deepEqual(byName['tickets-node'].capabilities, ['ticket.get', 'ticket.list', 'ticket.create', 'requester.ensure']);
  });

  test('serves health, readiness, the OpenAPI document and the docs page without a key', async () => {
    assert.deepEqual(await assertMatchesSpec(await fetch(`${gw.url}/healthz`), 'health'), { status: 'ok' });
    const ready = await assertMatchesSpec(await fetch(`${gw.url}/readyz`), 'readiness');
    assert.equal(ready.status, 'ready');
    const spec = await json(await fetch(`${gw.url}/openapi.json`));
    assert.equal(spec.openapi, '3.1.0');
    const docs = await fetch(`${gw.url}/docs`);
    assert.equal(docs.status, 200);
    assert.match(docs.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await docs.text(), /openapi\.json/);
  });

  test("serves /openapi.json with POST /v1/query's body narrowed to each capability the loaded connectors declare, with its params", async () => {
    const spec = await json(await fetch(`${gw.url}/openapi.json`));
    const body = spec.paths['/v1/query'].post.requestBody.content['application/json'].schema;
    const orderGet = body.oneOf.find((s: any) => s.properties.capability.const === 'order.get');
    assert.deepEqual(orderGet.required, ['capability', 'params']);
    assert.deepEqual(orderGet.properties.params.required, ['id']);
    assert.ok(body.oneOf.some((s: any) => s.properties.capability.const === 'ticket.create'));
  });
});
