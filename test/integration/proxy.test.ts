import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { API_KEY, backendAdmin, startTestGateway, type TestGateway } from '../support/gateway.ts';

let gw: TestGateway;
before(async () => {
  gw = await startTestGateway();
});
after(() => gw.stop());

describe('the pass-through proxy', () => {
  test('passes an allowed GET to the orders backend with the connector\'s bearer token injected', async () => {
    const res = await gw.api('/v1/proxy/orders/api/orders/ORD-0000001');
    assert.equal(res.status, 200);
    const raw = (await res.json()) as { orderId: string; totalAmountMinor: number };
    assert.equal(raw.orderId, 'ORD-0000001');
    assert.equal(typeof raw.totalAmountMinor, 'number', 'the backend\'s own shape, untouched');
  });

  test('keeps the query string and passes DRF-style trailing slashes to the CRM with its token', async () => {
    const res = await gw.api('/v1/proxy/crm/api/customers/?page_size=2');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { count: number; results: unknown[] };
    assert.equal(body.results.length, 2);
  });

  test('signs a JSON-RPC call to the tickets backend', async () => {
    const res = await gw.api('/v1/proxy/tickets/rpc', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tickets.get', params: { ticketId: 'TCK-100002' } }),
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { result: { ticketId: string } }).result.ticketId, 'TCK-100002');
  });

  test('refuses paths the connector does not open, and never reaches the backend for them', async () => {
    const before = (await backendAdmin<{ requests: number }>('orders', 'stats')).requests;
    for (const path of ['/v1/proxy/orders/oauth/token', '/v1/proxy/orders/_admin/faults', '/v1/proxy/orders/api/orders/ORD-1/../../_admin/stats']) {
      const res = await gw.api(path);
      assert.equal(res.status, 403, path);
      assert.equal(((await res.json()) as { code: string }).code, 'PROXY_PATH_FORBIDDEN');
    }
    const del = await gw.api('/v1/proxy/orders/api/orders/ORD-0000001', { method: 'DELETE' });
    assert.equal(del.status, 403);
    assert.equal((await backendAdmin<{ requests: number }>('orders', 'stats')).requests, before);
  });

  test('answers 404 for a system no connector reaches', async () => {
    const res = await gw.api('/v1/proxy/billing/anything');
    assert.equal(res.status, 404);
  });

  test("replaces the client's credentials with the connector's, and never forwards the gateway key", async () => {
    // A recording HTTP server stands in for the CRM here: the test is about what crosses the wire.
    const seen: Record<string, string | string[] | undefined>[] = [];
    const recorder = createServer((req, res) => {
      seen.push(req.headers);
      res.setHeader('content-type', 'application/json');
      res.end('{"count":0,"next":null,"previous":null,"results":[]}');
    });
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
    const port = (recorder.address() as AddressInfo).port;
    const other = await startTestGateway({ OMNIGATE_CONNECTOR_CRM_PYTHON_BASE_URL: `http://127.0.0.1:${port}` });
    try {
      const res = await other.api('/v1/proxy/crm/api/customers/1/', { headers: { cookie: 'session=abc', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });
      assert.equal(res.status, 200);
      const headers = seen.at(-1) ?? {};
      assert.equal(headers.authorization, 'Token crm-dev-token');
      assert.equal(headers['x-api-key'], undefined);
      assert.equal(headers.cookie, undefined);
      assert.match(String(headers.traceparent), /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
      assert.equal(JSON.stringify(headers).includes(API_KEY), false);
    } finally {
      await other.stop();
      recorder.close();
    }
  });

  test('needs a key like every other endpoint', async () => {
    assert.equal((await fetch(`${gw.url}/v1/proxy/orders/api/orders/ORD-0000001`)).status, 401);
  });
});
