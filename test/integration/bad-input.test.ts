import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backendAdmin, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { assertMatchesSpec } from '../support/spec.ts';

let gw: TestGateway;
before(async () => {
  gw = await startTestGateway({ OMNIGATE_BODY_LIMIT_BYTES: '4096' });
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

  test('refuses an oversized body with 413 and creates nothing', async () => {
    const before = await ticketCount();
    await problem(await post('/v1/tickets', JSON.stringify({ customerId: '42', subject: 'big', description: 'x'.repeat(5000) })), 413, 'PAYLOAD_TOO_LARGE', 'createTicket');
    assert.equal(await ticketCount(), before);
  });

  test('refuses a body that is not JSON with 415', async () => {
    await problem(await post('/v1/tickets', 'customerId=42', 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE', 'createTicket');
  });

  test('refuses bad path and query parameters from the OpenAPI spec', async () => {
    const badId = await problem(await gw.api('/v1/customers/abc'), 400, 'VALIDATION_FAILED');
    assert.equal(badId.errors[0].in, 'path');
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
});
