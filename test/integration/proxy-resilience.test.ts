import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { backendAdmin, setFault, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { waitFor } from '../support/wait.ts';

// One gateway for the file, each test on its own connector, so their settings do not meet.
let gw: TestGateway;
before(async () => {
  gw = await startTestGateway({
    OMNIGATE_RESILIENCE_TICKETS_NODE_VOLUME_THRESHOLD: '2',
    OMNIGATE_RESILIENCE_TICKETS_NODE_ERROR_THRESHOLD_PERCENTAGE: '50',
    OMNIGATE_RESILIENCE_TICKETS_NODE_RESET_TIMEOUT_MS: '60000',
    OMNIGATE_RESILIENCE_TICKETS_NODE_TIMEOUT_MS: '300',
    OMNIGATE_RESILIENCE_ORDERS_JAVA_RATE_LIMIT_PER_SEC: '1',
    OMNIGATE_RESILIENCE_CRM_PYTHON_MAX_CONCURRENT: '1',
    OMNIGATE_RESILIENCE_CRM_PYTHON_MAX_QUEUE: '0',
    OMNIGATE_RESILIENCE_CRM_PYTHON_TIMEOUT_MS: '1000',
  });
});
afterEach(() => Promise.all([setFault('orders', { mode: 'ok' }), setFault('crm', { mode: 'ok' }), setFault('tickets', { mode: 'ok' })]));
after(() => gw.stop());

const getTicket = () =>
  gw.api('/v1/proxy/tickets/rpc', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tickets.get', params: { ticketId: 'TCK-100002' } }),
  });

const stats = (system: 'orders' | 'crm' | 'tickets') => backendAdmin<{ requests: number; tokensIssued?: number }>(system, 'stats');

const codeOf = async (res: Response) => ((await res.json()) as { code?: string }).code;

describe("the proxy runs through the connector's resilience pipeline", () => {
  test('counts a proxied 5xx and a proxied timeout against the breaker, then answers 503 CIRCUIT_OPEN without reaching the backend', async () => {
    await setFault('tickets', { mode: 'error' });
    const failed = await getTicket();
    assert.equal(failed.status, 503, "the backend's own 503 is passed on");
    assert.notEqual(await codeOf(failed), 'CIRCUIT_OPEN');
    await setFault('tickets', { mode: 'hang' });
    const hung = await getTicket();
    assert.equal(hung.status, 504);
    assert.equal(await codeOf(hung), 'UPSTREAM_TIMEOUT');

    await setFault('tickets', { mode: 'ok' });
    const before = (await stats('tickets')).requests;
    const refused = await getTicket();
    assert.equal(refused.status, 503);
    assert.equal(await codeOf(refused), 'CIRCUIT_OPEN');
    assert.equal((await stats('tickets')).requests, before, 'an open breaker keeps the call away from the backend');
  });

  test("holds proxied calls to the connector's rate limit", async () => {
    // Calls to the API, not the connector's token fetches.
    const apiCalls = async () => {
      const s = await stats('orders');
      return s.requests - (s.tokensIssued ?? 0);
    };
    const before = await apiCalls();
    const replies = await Promise.all([1, 2, 3, 4].map(() => gw.api('/v1/proxy/orders/api/orders/ORD-0000001')));
    const limited = replies.filter((res) => res.status === 429);
    assert.ok(limited.length > 0, 'some calls are over the limit');
    for (const res of limited) assert.equal(await codeOf(res), 'RATE_LIMITED');
    assert.equal(await apiCalls(), before + replies.length - limited.length, 'only the calls within the limit reach the backend');
  });

  test("holds proxied calls to the connector's bulkhead", async () => {
    await setFault('crm', { mode: 'hang' });
    const before = (await stats('crm')).requests;
    const first = gw.api('/v1/proxy/crm/api/customers/1/');
    await waitFor('the first call to reach the CRM', async () => (await stats('crm')).requests > before);
    const second = await gw.api('/v1/proxy/crm/api/customers/2/');
    assert.equal(second.status, 503);
    assert.equal(await codeOf(second), 'CONNECTOR_SATURATED');
    assert.equal((await first).status, 504);
    assert.equal((await stats('crm')).requests, before + 1);
  });
});
