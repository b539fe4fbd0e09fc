import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { backendAdmin, perTestGateways, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TEST_URLS } from '../support/ports.ts';
import { assertMatchesSpec } from '../support/spec.ts';
import { readSse } from '../support/sse.ts';

const WEBHOOK_SECRET = 'tickets-webhook-secret';
let gw: TestGateway;
const { gateway } = perTestGateways();

before(async () => {
  gw = await startTestGateway({ OMNIGATE_CONNECTOR_TICKETS_NODE_WEBHOOK_SECRET: WEBHOOK_SECRET, OMNIGATE_EVENT_POLLING: 'true' });
});
after(async () => {
  await fetch(`${TEST_URLS.tickets}/_admin/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: null }) });
  await gw.stop();
});

type Ticket = { id: string; status: string; isOpen: boolean };
// Straight to the backend, signed as its other clients do: the gateway's proxy opens no writes.
const rpc = (method: string, params: object) => {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method, params });
  const timestamp = String(Date.now());
  const signature = `sha256=${createHmac('sha256', 'tickets-dev-secret').update(`${timestamp}.${body}`).digest('hex')}`;
  return fetch(`${TEST_URLS.tickets}/rpc`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-timestamp': timestamp, 'x-signature': signature }, body });
};

describe('ticket events from the tickets service’s signed webhooks', () => {
  test('are verified, normalized, published once each (duplicates dropped) and in order per ticket', async () => {
    const hooks = await fetch(`${TEST_URLS.tickets}/_admin/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${gw.url}/v1/inbound/tickets-node`, duplicate: true }),
    });
    assert.equal(hooks.status, 200);
    const stream = readSse(await gw.api('/v1/events/stream?type=ticket.created,ticket.updated'));
    try {
      const created = await gw.api('/v1/tickets', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ customerId: '42', subject: 'Lost parcel', description: 'Where is it?' }) });
      const ticketId = ((await created.json()) as { data: Ticket }).data.id;
      for (const status of ['open', 'pending', 'solved']) assert.equal((await rpc('tickets.update', { ticketId, status })).status, 200);
      const last = await stream.next((m) => JSON.parse(m.data).subject === ticketId && JSON.parse(m.data).data.status === 'solved');
      assert.ok(last);
      await new Promise((r) => setTimeout(r, 300)); // let duplicates show up, if any got through
      const mine = stream.messages.map((m) => JSON.parse(m.data) as { id: string; type: string; subject: string; source: string; data: Ticket }).filter((e) => e.subject === ticketId);
      assert.deepEqual(mine.map((e) => `${e.type}:${e.data.status}`), ['ticket.created:new', 'ticket.updated:open', 'ticket.updated:pending', 'ticket.updated:solved']);
      assert.equal(new Set(mine.map((e) => e.id)).size, 4);
      assert.equal(mine[0]?.source, '/omnigate/connectors/tickets-node');
      assert.equal(mine[3]?.data.isOpen, false, 'the data is the canonical Ticket');
      const stats = await backendAdmin<{ stats: { sent: number } }>('tickets', 'webhooks');
      assert.ok(stats.stats.sent >= 8, 'every delivery was sent twice');
    } finally {
      await stream.close();
    }
  });

  test('refuses a delivery with a bad signature with 401 and publishes nothing', async () => {
    const body = JSON.stringify({ id: 'forged-1', type: 'ticket.created', occurredAt: Date.now(), ticket: {} });
    const timestamp = String(Date.now());
    const signature = `sha256=${createHmac('sha256', 'not-the-secret').update(`${timestamp}.${body}`).digest('hex')}`;
    const res = await fetch(`${gw.url}/v1/inbound/tickets-node`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-timestamp': timestamp, 'x-webhook-signature': signature }, body });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { code: string }).code, 'UNAUTHENTICATED');
  });

  test('answers 404 NOT_FOUND for a delivery to a connector that has events but no webhook handler', async () => {
    // orders-java polls its events: it declares event types but has no webhook().
    const res = await fetch(`${gw.url}/v1/inbound/orders-java`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { code: string }).code, 'NOT_FOUND');
  });

  test('refuses a flood of deliveries beyond the inbound rate limit with 429 before they take bulkhead slots, so a query to the connector still passes', async () => {
    const limited = await gateway({
      OMNIGATE_CONNECTOR_TICKETS_NODE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      OMNIGATE_RESILIENCE_TICKETS_NODE_INBOUND_RATE_LIMIT_PER_SEC: '1',
      // Three slots and no queue: the query, and one delivery per one-second window the flood
      // spans (it may cross a boundary: the second window's delivery met the first's still
      // holding its slot, and was turned away 503, on a busy CI machine). Any of the 30 refused
      // deliveries that held a slot would crowd the query out.
      OMNIGATE_RESILIENCE_TICKETS_NODE_MAX_CONCURRENT: '3',
      OMNIGATE_RESILIENCE_TICKETS_NODE_MAX_QUEUE: '0',
    });
    const post = () => fetch(`${limited.url}/v1/inbound/tickets-node`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const requesterRef = ((await (await limited.api('/v1/customers/42')).json()) as { data: { externalIds: { tickets: string } } }).data.externalIds.tickets;
    const query = () => limited.api('/v1/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ capability: 'ticket.list', params: { requesterRef } }) });
    const firstWindow = Math.floor(Date.now() / 1000);
    const [answered, flood] = await Promise.all([query(), Promise.all(Array.from({ length: 30 }, post))]);
    const windows = Math.floor(Date.now() / 1000) - firstWindow + 1;
    const statuses = flood.map((r) => r.status);
    assert.equal(answered.status, 200, await answered.text());
    assert.ok(statuses.every((s) => s === 401 || s === 429), `statuses ${statuses.join(',')}`);
    // Fixed one-second windows: at most one delivery per window spanned got past the limit.
    assert.ok(statuses.filter((s) => s === 401).length <= windows, `statuses ${statuses.join(',')} over ${windows} windows`);
    const refused = flood.find((r) => r.status === 429);
    assert.ok(refused, `statuses ${statuses.join(',')}`);
    assert.equal((await assertMatchesSpec(refused, 'receiveWebhook')).code, 'RATE_LIMITED');
    const { connectors } = (await (await limited.api('/v1/connectors')).json()) as { connectors: { name: string; bulkhead: { rejected: number }; breakers: { capability: string; state: string }[] }[] };
    const tickets = connectors.find((c) => c.name === 'tickets-node');
    assert.equal(tickets?.bulkhead.rejected, 0, 'no call was turned away by the bulkhead');
    // When every delivery of the flood met the limit, none reached the breaker and it was never made.
    const breaker = tickets?.breakers.find((b) => b.capability === 'webhook');
    if (statuses.includes(401)) assert.equal(breaker?.state, 'closed', 'refused signatures do not count against the breaker');
    else assert.notEqual(breaker?.state, 'open', 'refused signatures do not count against the breaker');
  });
});

describe('order status changes, polled from the orders service’s change feed', () => {
  test('arrive as order.status_changed with canonical statuses, in order per order', async () => {
    const stream = readSse(await gw.api('/v1/events/stream?type=order.status_changed&subject=ORD-0000777'));
    try {
      const token = (await (await fetch(`${TEST_URLS.orders}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&client_id=omnigate&client_secret=orders-dev-secret',
      })).json()) as { access_token: string };
      // NEW first, so that each of the next three is a change whatever the seed said.
      for (const status of ['NEW', 'PAID', 'IN_DELIVERY', 'DELIVERED']) {
        const res = await fetch(`${TEST_URLS.orders}/api/orders/ORD-0000777/status`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ status }),
        });
        assert.equal(res.status, 200);
      }
      await stream.next((m) => (JSON.parse(m.data) as { data: { sourceTo: string } }).data.sourceTo === 'DELIVERED', 15_000);
      const changes = stream.messages.map((m) => (JSON.parse(m.data) as { data: { to: string; sourceTo: string; orderId: string } }).data);
      const tail = changes.slice(-3);
      assert.deepEqual(tail.map((c) => c.to), ['paid', 'shipped', 'delivered']);
      assert.deepEqual(tail.map((c) => c.orderId), ['ORD-0000777', 'ORD-0000777', 'ORD-0000777']);
    } finally {
      await stream.close();
    }
  });
});
