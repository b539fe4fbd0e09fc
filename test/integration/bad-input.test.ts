import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { backendAdmin, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { assertMatchesSpec } from '../support/spec.ts';

const ADMIN_KEY = 'admin-key-0123456789abcdef';
let gw: TestGateway;
before(async () => {
  gw = await startTestGateway({ OMNIGATE_BODY_LIMIT_BYTES: '4096', OMNIGATE_ADMIN_KEYS: `ops:${ADMIN_KEY}` });
});
after(() => gw.stop());

async function problem(res: Response, status: number, code: string, operationId?: string): Promise<any> {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}`);
  if (operationId) await assertMatchesSpec(res, operationId);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const body = (await res.json()) as any;
  assert.equal(body.code, code);
  assert.equal(body.status, status);
  assert.equal(body.type, `urn:omnigate:problem:${code}`);
  assert.equal(typeof body.detail, 'string');
  return body;
}

const post = (path: string, body: string, contentType = 'application/json') =>
  gw.api(path, { method: 'POST', headers: { 'content-type': contentType }, body });

/** How many tickets the backend holds: a refused request must not change it. */
const ticketCount = async (): Promise<number> => (await backendAdmin<{ tickets: number }>('tickets', 'stats')).tickets;

describe('bad input gets a clear 4xx problem and changes nothing', () => {
  test('refuses a request without an API key, or with a wrong one, with 401', async () => {
    const none = await fetch(`${gw.url}/v1/customers/1`);
    await problem(none, 401, 'UNAUTHENTICATED', 'getCustomer');
    assert.match(none.headers.get('www-authenticate') ?? '', /Bearer/);
    await problem(await fetch(`${gw.url}/v1/customers/1`, { headers: { 'x-api-key': 'wrong-key-0123456789' } }), 401, 'UNAUTHENTICATED');
    await problem(await fetch(`${gw.url}/v1/connectors`, { headers: { authorization: 'Bearer nope' } }), 401, 'UNAUTHENTICATED');
  });

  test('accepts the key as a bearer token too', async () => {
    const res = await fetch(`${gw.url}/v1/customers/1`, { headers: { authorization: 'Bearer test-key-0123456789abcdef' } });
    assert.equal(res.status, 200);
  });

  test('refuses malformed JSON with MALFORMED_JSON and creates nothing', async () => {
    const before = await ticketCount();
    await problem(await post('/v1/tickets', '{"customerId": "42", "subject": '), 400, 'MALFORMED_JSON', 'createTicket');
    assert.equal(await ticketCount(), before);
  });

  test('refuses wrong types and unknown fields, listing every problem at once', async () => {
    const before = await ticketCount();
    const body = await problem(await post('/v1/tickets', JSON.stringify({ customerId: 42, subject: '', description: 'x', color: 'red' })), 400, 'VALIDATION_FAILED', 'createTicket');
    const pointers = body.errors.map((e: { pointer: string }) => e.pointer).sort();
    assert.deepEqual(pointers, ['/color', '/customerId', '/subject']);
    for (const e of body.errors) assert.equal(e.in, 'body');
    assert.equal(await ticketCount(), before);
  });

  test('refuses a blank ticket subject or description itself, before the tickets backend sees it', async () => {
    const before = await ticketCount();
    const body = await problem(await post('/v1/tickets', JSON.stringify({ customerId: '1', subject: ' \u00a0', description: '\f' })), 400, 'VALIDATION_FAILED', 'createTicket');
    assert.deepEqual(body.errors.map((e: { pointer: string }) => e.pointer).sort(), ['/description', '/subject']);
    assert.equal(body.connector, undefined);
    const params = { requesterRef: 'T-1', subject: 'Printer', description: '\f' };
    const viaQuery = await problem(await post('/v1/query', JSON.stringify({ capability: 'ticket.create', params })), 400, 'VALIDATION_FAILED', 'query');
    assert.deepEqual(viaQuery.errors.map((e: { pointer: string }) => e.pointer), ['/params/description']);
    assert.equal(await ticketCount(), before);
  });

  test('refuses an oversized body with 413 and creates nothing', async () => {
    const before = await ticketCount();
    await problem(await post('/v1/tickets', JSON.stringify({ customerId: '42', subject: 'big', description: 'x'.repeat(5000) })), 413, 'PAYLOAD_TOO_LARGE', 'createTicket');
    assert.equal(await ticketCount(), before);
  });

  test('refuses a body that is not JSON with 415', async () => {
    await problem(await post('/v1/tickets', 'customerId=42', 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE', 'createTicket');
  });

  test('refuses bad path and query parameters from the OpenAPI spec', async () => {
    const badId = await problem(await gw.api('/v1/customers/a%2Fb'), 400, 'VALIDATION_FAILED');
    assert.equal(badId.errors[0].in, 'path');
    await problem(await gw.api(`/v1/customers/${'7'.repeat(129)}`), 400, 'VALIDATION_FAILED');
    await problem(await gw.api('/v1/customers?pageSize=1000'), 400, 'VALIDATION_FAILED');
    await problem(await gw.api('/v1/customers?page=zero'), 400, 'VALIDATION_FAILED');
    const unknown = await problem(await gw.api('/v1/customers?colour=red'), 400, 'VALIDATION_FAILED');
    assert.equal(unknown.errors[0].in, 'query');
    await problem(await gw.api('/v1/customers/1/tickets?status=lost'), 400, 'VALIDATION_FAILED');
  });

  test('answers 404 NOT_FOUND for unknown ids in every backend', async () => {
    const customer = await problem(await gw.api('/v1/customers/999999'), 404, 'NOT_FOUND', 'getCustomer');
    assert.equal(customer.connector, 'crm-python');
    assert.equal((await problem(await gw.api('/v1/orders/ORD-9999999'), 404, 'NOT_FOUND')).connector, 'orders-java');
    assert.equal((await problem(await gw.api('/v1/tickets/TCK-999999'), 404, 'NOT_FOUND')).connector, 'tickets-node');
    await problem(await gw.api('/v1/customers/999999/context'), 404, 'NOT_FOUND');
  });

  test('refuses a ticket for an unknown customer with 404 and creates nothing', async () => {
    const before = await ticketCount();
    await problem(await post('/v1/tickets', JSON.stringify({ customerId: '999999', subject: 's', description: 'd' })), 404, 'NOT_FOUND');
    assert.equal(await ticketCount(), before);
  });

  test('answers unknown capabilities and bad params of POST /v1/query clearly', async () => {
    await problem(await post('/v1/query', JSON.stringify({ capability: 'invoice.get', params: {} })), 400, 'UNKNOWN_CAPABILITY', 'query');
    const bad = await problem(await post('/v1/query', JSON.stringify({ capability: 'order.get', params: { id: 7 } })), 400, 'VALIDATION_FAILED');
    assert.equal(bad.errors[0].pointer, '/params/id');
    await problem(await post('/v1/query', JSON.stringify({ capability: 'order.get', params: {}, extra: 1 })), 400, 'VALIDATION_FAILED');
  });

  test('answers unknown endpoints with ROUTE_NOT_FOUND', async () => {
    await problem(await gw.api('/v1/invoices'), 404, 'ROUTE_NOT_FOUND');
  });

  test('answers a method the spec does not list for a path with 405 and the methods it does list in Allow', async () => {
    const before = await ticketCount();
    const cases: Array<[string, string, RequestInit, string]> = [
      ['DELETE', '/v1/customers/42', {}, 'GET, HEAD'],
      ['DELETE', '/v1/customers/42/', {}, 'GET, HEAD'],
      ['PUT', '/v1/tickets', { headers: { 'content-type': 'application/json' }, body: '{}' }, 'POST'],
      ['PATCH', '/v1/webhooks/subscriptions', {}, 'GET, HEAD, POST'],
      ['POST', '/healthz', { headers: { 'x-api-key': 'none' } }, 'GET, HEAD'],
      ['DELETE', '/v1/admin/audit', { headers: { 'x-api-key': ADMIN_KEY } }, 'GET, HEAD'],
      ['OPTIONS', '/v1/orders/ORD-0000001', {}, 'GET, HEAD'],
    ];
    for (const [method, path, init, allow] of cases) {
      const res = await gw.api(path, { ...init, method });
      const body = await problem(res, 405, 'METHOD_NOT_ALLOWED');
      assert.equal(res.headers.get('allow'), allow, `${method} ${path}`);
      assert.match(body.detail, new RegExp(`${method} ${path}`));
    }
    assert.equal(await ticketCount(), before);
  });

  test("answers requests Node's HTTP parser refuses as problem+json: 431 over the header limit, 400 when malformed", async () => {
    const tooLong = await gw.api(`/v1/proxy/crm/${'a'.repeat(20_000)}`);
    await problem(tooLong, 431, 'HEADERS_TOO_LARGE', 'proxyGet');
    assert.ok(tooLong.headers.get('x-request-id'));
    assert.match(tooLong.headers.get('traceparent') ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);

    const socket = connect(new URL(gw.url).port === '' ? 80 : Number(new URL(gw.url).port), '127.0.0.1');
    socket.end('GET /v1/customers/1 HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
    let raw = '';
    for await (const chunk of socket) raw += String(chunk);
    const [head = '', body = ''] = raw.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 400 /);
    assert.match(head, /\r\ncontent-type: application\/problem\+json/i);
    assert.equal(JSON.parse(body).code, 'VALIDATION_FAILED');
  });

  test('refuses a header longer than the spec allows (Prefer) and queues nothing', async () => {
    const before = await ticketCount();
    const res = await gw.api('/v1/tickets', {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: `respond-async, ${'x'.repeat(300)}` },
      body: JSON.stringify({ customerId: '42', subject: 's', description: 'd' }),
    });
    const body = await problem(res, 400, 'VALIDATION_FAILED', 'createTicket');
    assert.deepEqual(body.errors.map((e: { in: string; pointer: string }) => [e.in, e.pointer]), [['header', '/Prefer']]);
    assert.equal(await ticketCount(), before);
  });

  test('refuses a page number past the documented maximum before any backend sees it', async () => {
    const seen = (await backendAdmin<{ requests: number }>('orders', 'stats')).requests;
    const body = await problem(await gw.api('/v1/customers/42/orders?page=554807611498549504'), 400, 'VALIDATION_FAILED', 'listCustomerOrders');
    assert.deepEqual(body.errors.map((e: { in: string; pointer: string }) => [e.in, e.pointer]), [['query', '/page']]);
    assert.equal((await backendAdmin<{ requests: number }>('orders', 'stats')).requests, seen);
  });

  test('refuses a malformed tickets cursor as a query problem, and answers one no page returned with 404', async () => {
    const malformed = await problem(await gw.api('/v1/customers/42/tickets?cursor=not%20a%20cursor!'), 400, 'VALIDATION_FAILED', 'listCustomerTickets');
    assert.deepEqual(malformed.errors.map((e: { in: string; pointer: string }) => [e.in, e.pointer]), [['query', '/cursor']]);
    // Well formed, but no page returned it: only the tickets system can tell. Like a page number
    // past the end, it names a page that does not exist (DRF's CursorPagination answers the same).
    for (const cursor of ['0', 'AAAA', 'eyJ0Ijox']) {
      const unknown = await problem(await gw.api(`/v1/customers/42/tickets?cursor=${cursor}`), 404, 'NOT_FOUND', 'listCustomerTickets');
      assert.equal(unknown.connector, 'tickets-node');
      assert.match(unknown.detail, /cursor/);
    }
    const requesterRef = ((await (await gw.api('/v1/customers/42')).json()) as any).data.externalIds.tickets;
    const viaQuery = await post('/v1/query', JSON.stringify({ capability: 'ticket.list', params: { requesterRef, cursor: 'AAAA' } }));
    await problem(viaQuery, 404, 'NOT_FOUND', 'query');
  });

  test('answers 404 NOT_FOUND for customer ids of any canonical form the CRM does not know', async () => {
    const before = await ticketCount();
    for (const id of ['abc', 'cust_7f3a-9B.x', 'a:b@c~d', '0'.repeat(40), 'x'.repeat(128)]) {
      const path = `/v1/customers/${encodeURIComponent(id)}`;
      assert.equal((await problem(await gw.api(path), 404, 'NOT_FOUND', 'getCustomer')).connector, 'crm-python', id);
      await problem(await gw.api(`${path}/orders`), 404, 'NOT_FOUND', 'listCustomerOrders');
      await problem(await gw.api(`${path}/tickets`), 404, 'NOT_FOUND', 'listCustomerTickets');
      await problem(await gw.api(`${path}/context`), 404, 'NOT_FOUND', 'getCustomerContext');
      await problem(await post('/v1/tickets', JSON.stringify({ customerId: id, subject: 's', description: 'd' })), 404, 'NOT_FOUND', 'createTicket');
      await problem(await post('/v1/query', JSON.stringify({ capability: 'customer.get', params: { id } })), 404, 'NOT_FOUND', 'query');
    }
    for (const id of ['abc', 'x_y-Z']) {
      await problem(await gw.api(`/v1/orders/${id}`), 404, 'NOT_FOUND', 'getOrder');
      await problem(await gw.api(`/v1/tickets/${id}`), 404, 'NOT_FOUND', 'getTicket');
    }
    // POST /v1/query takes any non-empty string: what a backend cannot parse it does not have.
    for (const id of ['a/b', '..', '%zz', 'ü', ' ', 'x'.repeat(3000)]) {
      for (const capability of ['customer.get', 'order.get', 'ticket.get']) {
        const res = await post('/v1/query', JSON.stringify({ capability, params: { id } }));
        assert.equal(res.status, 404, `${capability} ${JSON.stringify(id.slice(0, 10))}: ${res.status}`);
      }
    }
    assert.equal(await ticketCount(), before);
  });
});
