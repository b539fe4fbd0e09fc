import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { setFault, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { assertMatchesSpec } from '../support/spec.ts';

let gw: TestGateway;
before(async () => {
  gw = await startTestGateway({ OMNIGATE_CALL_TIMEOUT_MS: '1500', OMNIGATE_RESILIENCE_CRM_PYTHON_VOLUME_THRESHOLD: '1000', OMNIGATE_RESILIENCE_ORDERS_JAVA_VOLUME_THRESHOLD: '1000', OMNIGATE_RESILIENCE_TICKETS_NODE_VOLUME_THRESHOLD: '1000' });
});
afterEach(async () => {
  await Promise.all([setFault('orders', { mode: 'ok' }), setFault('crm', { mode: 'ok' }), setFault('tickets', { mode: 'ok' })]);
});
after(() => gw.stop());

let nextCustomer = 400;
/** A customer no earlier test fetched: nothing stale can stand in for a failed part. */
const context = async (id = String(nextCustomer++)): Promise<any> => {
  const res = await gw.api(`/v1/customers/${id}/context`);
  assert.equal(res.status, 200);
  return assertMatchesSpec(res, 'getCustomerContext');
};

describe('a failing backend gives a partial answer, never a failed request', () => {
  test('orders down: the context still has the profile and open tickets, orders marked UPSTREAM_UNAVAILABLE', async () => {
    await setFault('orders', { mode: 'down' });
    const body = await context();
    assert.equal(body.complete, false);
    assert.equal(body.parts.customer.status, 'ok');
    assert.equal(body.parts.openTickets.status, 'ok');
    assert.equal(body.parts.orders.status, 'error');
    assert.equal(body.parts.orders.connector, 'orders-java');
    assert.equal(body.parts.orders.error.code, 'UPSTREAM_UNAVAILABLE');
    assert.equal(body.parts.orders.error.retryable, true);
  });

  test('tickets hanging: the context answers without waiting for them, tickets marked UPSTREAM_TIMEOUT', async () => {
    // The backend never answers: an answer at all is the call timeout giving up on it.
    await setFault('tickets', { mode: 'hang' });
    const body = await context();
    assert.equal(body.parts.openTickets.status, 'error');
    assert.equal(body.parts.openTickets.error.code, 'UPSTREAM_TIMEOUT');
    assert.equal(body.parts.orders.status, 'ok');
  });

  test('crm down: the other parts are skipped with the reason, and the request still answers 200', async () => {
    await setFault('crm', { mode: 'down' });
    const body = await context();
    assert.equal(body.parts.customer.status, 'error');
    assert.equal(body.parts.orders.status, 'skipped');
    assert.match(body.parts.orders.error.detail, /profile/);
  });

  test('an orders backend answering garbage gives 502 CONNECTOR_BAD_DATA naming the connector and the field', async () => {
    await setFault('orders', { mode: 'garbage' });
    const res = await gw.api('/v1/orders/ORD-0007001');
    assert.equal(res.status, 502);
    const problem = (await assertMatchesSpec(res, 'getOrder')) as Record<string, string>;
    assert.equal(problem.code, 'CONNECTOR_BAD_DATA');
    assert.equal(problem.connector, 'orders-java');
    assert.match(problem.field ?? '', /totalAmountMinor|createdAt/);
    assert.doesNotMatch(JSON.stringify(problem), /lots|yesterday/, 'the broken data never reaches the client');
  });

  test('garbage from the CRM and the tickets service is refused the same way', async () => {
    await setFault('crm', { mode: 'garbage' });
    const crm = (await (await gw.api('/v1/customers/507')).json()) as Record<string, string>;
    assert.equal(crm.code, 'CONNECTOR_BAD_DATA');
    assert.equal(crm.connector, 'crm-python');
    assert.match(crm.field ?? '', /email|created_at/);
    await setFault('crm', { mode: 'ok' });
    await setFault('tickets', { mode: 'garbage' });
    const tickets = (await (await gw.api('/v1/tickets/TCK-107001')).json()) as Record<string, string>;
    assert.equal(tickets.code, 'CONNECTOR_BAD_DATA');
    assert.equal(tickets.connector, 'tickets-node');
  });

  for (const fault of [{ mode: 'down' }, { mode: 'latency', latencyMs: 2500 }, { mode: 'hang' }, { mode: 'error', errorRate: 1 }, { mode: 'garbage' }]) {
    test(`orders ${fault.mode}: the context returns the healthy parts, each marked`, async () => {
      await setFault('orders', fault);
      const body = await context();
      assert.equal(body.parts.customer.status, 'ok');
      assert.equal(body.parts.openTickets.status, 'ok');
      assert.equal(body.parts.orders.status, 'error');
      assert.ok(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT', 'CONNECTOR_BAD_DATA'].includes(body.parts.orders.error.code), body.parts.orders.error.code);
    });
  }

  test('a backend answering 503 errors gives UPSTREAM_UNAVAILABLE in the context part', async () => {
    await setFault('tickets', { mode: 'error', errorRate: 1 });
    const body = await context();
    assert.equal(body.parts.openTickets.error.code, 'UPSTREAM_UNAVAILABLE');
    assert.equal(body.parts.customer.status, 'ok');
  });
});
