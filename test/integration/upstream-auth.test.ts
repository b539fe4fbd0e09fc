import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { backendAdmin, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ORDERS_TOKEN_TTL_SECONDS, TEST_URLS } from '../support/ports.ts';

let gw: TestGateway;
before(async () => {
  gw = await startTestGateway();
});
after(() => gw.stop());

const tokensIssued = async (): Promise<number> => (await backendAdmin<{ tokensIssued: number }>('orders', 'stats')).tokensIssued;

describe('credentials towards the backends', () => {
  test('refreshes an expired orders token exactly once, even under 20 concurrent calls', async () => {
    assert.equal((await gw.api('/v1/orders/ORD-0000002')).status, 200);
    const before = await tokensIssued();
    // Revoke every token the backend issued: the next calls all get 401 at once.
    await backendAdmin('orders', 'tokens/expire', 'POST');
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => gw.api(`/v1/orders/ORD-${String(i + 10).padStart(7, '0')}`)));
    assert.deepEqual(replies.map((r) => r.status), Array(20).fill(200));
    assert.equal(await tokensIssued(), before + 1);
  });

  test('fetches a new token before the old one expires by time', async () => {
    assert.equal((await gw.api('/v1/orders/ORD-0000003')).status, 200);
    const before = await tokensIssued();
    await new Promise((resolve) => setTimeout(resolve, ORDERS_TOKEN_TTL_SECONDS * 1000 + 200));
    const replies = await Promise.all(Array.from({ length: 10 }, () => gw.api('/v1/orders/ORD-0000004')));
    assert.deepEqual(replies.map((r) => r.status), Array(10).fill(200));
    assert.equal(await tokensIssued(), before + 1);
  });

  test('the tickets backend rejects a request with a bad HMAC signature', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tickets.get', params: { ticketId: 'TCK-100001' } });
    const timestamp = String(Date.now());
    const wrong = `sha256=${createHmac('sha256', 'not-the-secret').update(`${timestamp}.${body}`).digest('hex')}`;
    const reply = await fetch(`${TEST_URLS.tickets}/rpc`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-timestamp': timestamp, 'x-signature': wrong }, body });
    assert.equal(reply.status, 401);
    assert.equal(((await reply.json()) as { error: { code: number } }).error.code, -32001);
  });

  test('the tickets backend rejects a replayed signed request, while the connector signs each call afresh', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tickets.get', params: { ticketId: 'TCK-100001' } });
    const timestamp = String(Date.now());
    const signature = `sha256=${createHmac('sha256', 'tickets-dev-secret').update(`${timestamp}.${body}`).digest('hex')}`;
    const send = () => fetch(`${TEST_URLS.tickets}/rpc`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-timestamp': timestamp, 'x-signature': signature }, body });
    assert.equal((await send()).status, 200);
    const replay = await send();
    assert.equal(replay.status, 401);
    assert.equal(((await replay.json()) as { error: { code: number } }).error.code, -32002);
    const viaGateway = await Promise.all(Array.from({ length: 5 }, () => gw.api('/v1/tickets/TCK-100001')));
    assert.deepEqual(viaGateway.map((r) => r.status), Array(5).fill(200));
  });

  test('a connector with a wrong secret is reported, not fatal, and its calls fail clearly', async () => {
    const broken = await startTestGateway({ OMNIGATE_CONNECTOR_TICKETS_NODE_HMAC_SECRET: 'wrong-secret' });
    try {
      const res = await broken.api('/v1/tickets/TCK-108001');
      assert.equal(res.status, 502);
      assert.equal(((await res.json()) as { code: string }).code, 'UPSTREAM_UNAUTHORIZED');
      assert.equal((await broken.api('/v1/customers/1')).status, 200);
      const { connectors } = (await (await broken.api('/v1/connectors')).json()) as { connectors: { name: string; state: string; problem?: { stage: string; message: string } }[] };
      const tickets = connectors.find((c) => c.name === 'tickets-node');
      assert.equal(tickets?.state, 'unhealthy');
      assert.equal(tickets?.problem?.stage, 'health');
      assert.match(tickets?.problem?.message ?? '', /signature/);
    } finally {
      await broken.stop();
    }
  });
});
