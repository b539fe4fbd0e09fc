import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { createTestContexts, type TestContexts } from 'omnigate/sdk/testing';
import type { OrdersConfig } from '../config.ts';
import { pollStatusChanges } from './poll-status-changes.ts';

// A loopback change feed in the orders service's shape, with a status its mapping does not know.
const FEED = { epoch: 'e-1', lastSeq: 2, changes: [
  { seq: 1, orderId: 'ORD-1', customerNo: 'C-1', from: 'PAID', to: 'IN_DELIVERY', changedAt: '2026-11-27T10:15:30' },
  { seq: 2, orderId: 'ORD-1', customerNo: 'C-1', from: 'IN_DELIVERY', to: 'LOST_IN_TRANSIT', changedAt: '2026-11-27T11:15:30' },
] };
const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(FEED)));
let contexts: TestContexts<OrdersConfig>;
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  contexts = createTestContexts<OrdersConfig>({ config: { baseUrl, clientId: 'c', clientSecret: 's', timeZone: 'UTC' } });
});
after(async () => {
  contexts.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('a status change to a status the mapping does not know says `other`, with the source\'s word in sourceTo', async () => {
  const { events, cursor } = await pollStatusChanges(undefined, contexts.callContext());
  assert.equal(cursor, 'e-1:2');
  const data = events.map((e) => e.data as { from: string; to: string; sourceFrom: string; sourceTo: string });
  assert.deepEqual(data.map((d) => [d.from, d.to, d.sourceFrom, d.sourceTo]), [
    ['paid', 'shipped', 'PAID', 'IN_DELIVERY'],
    ['shipped', 'other', 'IN_DELIVERY', 'LOST_IN_TRANSIT'],
  ]);
});
