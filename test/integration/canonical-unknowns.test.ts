import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chat } from '../support/chat-rest.ts';
import { scratchDir } from '../support/connector-packages.ts';
import { dispatchEnv, dispatchRig, own as g } from '../support/dispatch-rig.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startJsonServer, type JsonServer } from '../support/json-server.ts';
import { assertMatchesSpec } from '../support/spec.ts';
import { waitFor } from '../support/wait.ts';

// A customer master that knows only an id and a name, served by software nobody here wrote
// (json-server) through a small connector written below the repository, behind a real gateway
// with routing dispatch. Everything the gateway does with that customer (the query API, the
// customer context, the agent's sidebar, routing) must treat what is missing as unknown: no
// crash, nothing invented, a rule on a missing fact does not match. A second customer has
// orders and tickets in statuses the canonical model has no name for (`other`).
const DB = {
  customers: [
    { id: 'cus_min', name: 'Mia Minimal' },
    { id: 'cus_odd', name: 'Otto Odd', ordersRef: 'cus_odd', ticketsRef: 'cus_odd' },
    { id: 'cus_old', name: 'Olga Older', ordersRef: 'cus_old', ticketsRef: 'cus_old' },
  ],
  orders: [
    { id: 'A-1', customerId: 'cus_odd', state: 'ON_HOLD', total: '310.00', currency: 'EUR', placedAt: '2026-11-20T10:00:00Z' },
    { id: 'A-2', customerId: 'cus_odd', state: 'DELIVERED', total: '9000.00', currency: 'EUR', placedAt: '2026-11-01T10:00:00Z' },
  ],
  tickets: [
    { id: 'T-1', customerId: 'cus_odd', state: 'escalated', title: 'Parcel lost', priority: 'high', createdAt: '2026-11-21T10:00:00Z' },
    { id: 'T-2', customerId: 'cus_odd', state: 'closed', title: 'Invoice copy', priority: 'low', createdAt: '2026-11-02T10:00:00Z' },
    { id: 'T-3', customerId: 'cus_odd', state: 'archived', title: 'Old question', priority: 'low', createdAt: '2026-10-02T10:00:00Z' },
    { id: 'T-4', customerId: 'cus_old', state: 'open', title: 'Where is my refund', priority: 'normal', createdAt: '2026-11-22T10:00:00Z' },
  ],
};

// The connector, as an integrator would write it: unmapped statuses are `other` with the source's
// word; `archived` is known to be finished (isOpen false) though it has no canonical name.
const CONNECTOR = `import { defineConnector, errorForStatus, noAuth, NotFoundError } from 'omnigate/sdk';
const ORDER_STATUS = { PAID: 'paid', SHIPPED: 'shipped', DELIVERED: 'delivered', CANCELLED: 'cancelled' };
const TICKET_STATUS = { new: 'new', open: 'open', pending: 'pending', solved: 'solved', closed: 'closed' };
const FINISHED = ['solved', 'closed', 'archived'];
const STATUS = { type: 'string', enum: ['new', 'open', 'pending', 'solved', 'closed', 'other'] };
async function get(ctx, path, query) {
  const reply = await ctx.http.request({ path, query });
  if (reply.status === 404) throw new NotFoundError(path + ' not found');
  if (reply.status !== 200) throw errorForStatus(reply.status, path);
  return reply.body;
}
const customer = (c) => ({ id: c.id, displayName: c.name, ...(c.ordersRef ? { externalIds: { orders: c.ordersRef, tickets: c.ticketsRef } } : {}) });
const order = (o) => ({ id: o.id, customerRef: o.customerId, status: ORDER_STATUS[o.state] ?? 'other', sourceStatus: o.state, total: { amount: o.total, currency: o.currency }, createdAt: o.placedAt, lines: [] });
const ticket = (t) => ({ id: t.id, requesterRef: t.customerId, subject: t.title, description: '', status: TICKET_STATUS[t.state] ?? 'other', sourceStatus: t.state,
  isOpen: !FINISHED.includes(t.state), priority: t.priority, channel: 'other', tags: [], createdAt: t.createdAt, updatedAt: t.createdAt });
const list = (path, params) => ({ customerId: params.requesterRef ?? params.customerRef, _sort: 'createdAt', _order: 'desc', _limit: params.pageSize ?? 20 });
export default defineConnector({
  manifest: {
    name: 'shop-json', version: '1.0.0', system: 'shop', description: 'customers, orders and tickets of a json-server shop',
    configSchema: { type: 'object', required: ['baseUrl'], additionalProperties: false, properties: { baseUrl: { type: 'string', format: 'uri' } } },
    capabilities: [
      { name: 'customer.get', kind: 'query', description: 'a customer', params: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1 } } }, result: 'Customer', businessKeys: [{ type: 'customer', path: 'id' }] },
      { name: 'order.list', kind: 'query', description: 'orders', params: { type: 'object', required: ['customerRef'], additionalProperties: false, properties: { customerRef: { type: 'string' }, page: { type: 'integer', minimum: 1 }, pageSize: { type: 'integer', minimum: 1, maximum: 100 } } }, result: 'Page<Order>', businessKeys: [{ type: 'order', path: 'id' }] },
      { name: 'ticket.list', kind: 'query', description: 'tickets', params: { type: 'object', required: ['requesterRef'], additionalProperties: false, properties: { requesterRef: { type: 'string' }, status: { type: 'array', items: STATUS, minItems: 1, uniqueItems: true }, pageSize: { type: 'integer', minimum: 1, maximum: 100 }, cursor: { type: 'string' } } }, result: 'Page<Ticket>', businessKeys: [{ type: 'ticket', path: 'id' }] },
    ],
  },
  async auth() { return noAuth(); },
  queries: {
    'customer.get': async (params, ctx) => customer(await get(ctx, '/customers/' + encodeURIComponent(params.id))),
    'order.list': async (params, ctx) => {
      const items = (await get(ctx, '/orders', { ...list('/orders', params), _sort: 'placedAt' })).map(order);
      return { items, page: { number: 1, size: params.pageSize ?? 20, hasMore: false } };
    },
    'ticket.list': async (params, ctx) => {
      const items = (await get(ctx, '/tickets', list('/tickets', params))).map(ticket).filter((t) => !params.status || params.status.includes(t.status));
      return { items, page: { size: params.pageSize ?? 20, hasMore: false } };
    },
  },
  async health(ctx) { return { ok: (await ctx.http.request({ path: '/db' })).status === 200 }; },
});
`;

const RULES = {
  version: `canonical-unknowns-${g('rules')}`,
  defaultGroup: g('front'),
  rules: [
    { name: 'vip', when: { fact: 'customer.tier', eq: 'vip' }, then: { priority: 50 } },
    { name: 'not-vip', when: { fact: 'customer.tier', ne: 'vip' }, then: { priority: 5 } },
    { name: 'tier-unknown', when: { fact: 'customer.tier', known: false }, then: { group: g('triage') } },
    { name: 'open-orders', when: { fact: 'orders.openCount', gt: 0 }, then: { priority: 10 } },
    { name: 'open-tickets', when: { fact: 'tickets.openCount', gt: 0 }, then: { priority: 20 } },
  ],
};

let dir: string;
let server: JsonServer;
let gw: TestGateway;
const rig = dispatchRig();

before(async () => {
  dir = scratchDir('canonical-unknowns');
  const db = join(dir, 'db.json');
  writeFileSync(db, JSON.stringify(DB));
  server = await startJsonServer({ db });
  const connector = join(dir, 'connectors/shop-json');
  mkdirSync(join(connector, 'src'), { recursive: true });
  writeFileSync(join(connector, 'package.json'), JSON.stringify({ name: '@omnigate/connector-shop-json', version: '1.0.0', type: 'module', main: './src/index.ts', omnigate: { connector: true } }));
  writeFileSync(join(connector, 'src/index.ts'), CONNECTOR);
  // The same connector as written before tickets had `other`: its status filter refuses it.
  const legacy = join(dir, 'connectors-legacy/shop-json');
  mkdirSync(join(legacy, 'src'), { recursive: true });
  writeFileSync(join(legacy, 'package.json'), JSON.stringify({ name: '@omnigate/connector-shop-json', version: '1.0.0', type: 'module', main: './src/index.ts', omnigate: { connector: true } }));
  writeFileSync(join(legacy, 'src/index.ts'), CONNECTOR.replace("'closed', 'other'] }", "'closed'] }"));
  gw = await startTestGateway(dispatchEnv({ OMNIGATE_CONNECTORS_DIR: join(dir, 'connectors'), OMNIGATE_CONNECTOR_SHOP_JSON_BASE_URL: server.url }));
  await rig.rules(gw, RULES);
});
after(async () => {
  await rig.close();
  await gw?.stop();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A verified visitor of `customerId` starts a conversation; routing decides where it waits. */
async function routed(customerId: string): Promise<{ id: string; decision: any }> {
  const { token } = await rig.visitor(gw, customerId);
  const id = await rig.start(gw, token, g('front'));
  const decision = await waitFor(`the routing decision of ${id}`, async () => (await rig.routingOf(gw, id)).decision ?? undefined);
  return { id, decision };
}
const outcomes = (decision: any) => Object.fromEntries(decision.outcomes.map((o: any) => [o.rule, o.outcome]));
const sidebar = async (id: string) => assertMatchesSpec(await gw.api(`/v1/conversations/${id}/context`), 'getConversationContext');

describe('a customer master that knows only an id and a display name', () => {
  test('GET /v1/customers/{id} answers the customer as the source has it: nothing invented', async () => {
    const body = await assertMatchesSpec(await gw.api('/v1/customers/cus_min'), 'getCustomer');
    assert.deepEqual(body.data, { id: 'cus_min', displayName: 'Mia Minimal' });
    assert.equal(body.source.connector, 'shop-json');
  });

  test('the customer context: the profile ok, orders and tickets skipped as not provided (no id there), not failed', async () => {
    const body = await assertMatchesSpec(await gw.api('/v1/customers/cus_min/context'), 'getCustomerContext');
    assert.deepEqual(body.parts.customer.data, { id: 'cus_min', displayName: 'Mia Minimal' });
    for (const part of [body.parts.orders, body.parts.openTickets]) {
      assert.deepEqual([part.status, part.error.code, part.error.retryable, part.data], ['skipped', 'NOT_FOUND', false, undefined]);
    }
  });

  test('routing: the tier is unknown, so neither "vip" nor "not vip" matches; a rule on the tier being unknown fires; the facts of the other systems are not provided', async () => {
    const { id, decision } = await routed('cus_min');
    assert.equal(decision.facts['customer.known'], true);
    assert.deepEqual([decision.facts['customer.tier'], decision.facts['customer.language'], decision.facts['customer.lifetimeValueEur']], [null, null, null]);
    assert.deepEqual([decision.facts['orders.openCount'], decision.facts['tickets.openCount']], [null, null]);
    assert.deepEqual(outcomes(decision), { vip: 'unknown', 'not-vip': 'unknown', 'tier-unknown': 'fired', 'open-orders': 'unknown', 'open-tickets': 'unknown' });
    assert.deepEqual(decision.sources.filter((s: any) => ['customer', 'orders', 'tickets'].includes(s.name)).map((s: any) => [s.name, s.connector, s.status, s.reason]),
      [['customer', 'shop-json', 'ok', undefined], ['orders', undefined, 'missing', 'NOT_PROVIDED'], ['tickets', undefined, 'missing', 'NOT_PROVIDED']]);
    assert.deepEqual([decision.group, decision.priority], [g('triage'), 0]);
    assert.equal((await rig.stateOf(gw, id)).group, g('triage'));
  });

  test("the agent's sidebar shows the profile as it is and says there are no orders or tickets to show", async () => {
    const { id } = await routed('cus_min');
    const body = await sidebar(id);
    assert.deepEqual([body.customerId, body.complete], ['cus_min', false]);
    assert.deepEqual(body.parts.customer.data, { id: 'cus_min', displayName: 'Mia Minimal' });
    assert.equal(body.parts.customer.status, 'ok');
    for (const part of [body.parts.orders, body.parts.openTickets]) {
      assert.equal(part.status, 'skipped');
      assert.equal(typeof part.message, 'string');
    }
  });
});

describe('orders and tickets in statuses the canonical model has no name for', () => {
  test('the context shows an `other` ticket as open with what the source said, drops one the connector says is finished, and keeps the `other` order', async () => {
    const body = await assertMatchesSpec(await gw.api('/v1/customers/cus_odd/context'), 'getCustomerContext');
    assert.deepEqual(body.parts.openTickets.data.map((t: any) => [t.id, t.status, t.sourceStatus, t.isOpen]), [['T-1', 'other', 'escalated', true]]);
    assert.deepEqual(body.parts.orders.data.map((o: any) => [o.id, o.status, o.sourceStatus]), [['A-1', 'other', 'ON_HOLD'], ['A-2', 'delivered', 'DELIVERED']]);
    const filtered = await assertMatchesSpec(await gw.api('/v1/customers/cus_odd/tickets?status=other'), 'listCustomerTickets');
    assert.deepEqual(filtered.data.items.map((t: any) => t.id), ['T-1', 'T-3'], 'the query API filters on other too');
  });

  test('routing counts the `other` order and ticket as open: those rules fire', async () => {
    const { id, decision } = await routed('cus_odd');
    assert.deepEqual([decision.facts['orders.openCount'], decision.facts['orders.openValueMaxEur'], decision.facts['tickets.openCount']], [1, 310, 1]);
    assert.deepEqual(outcomes(decision), { vip: 'unknown', 'not-vip': 'unknown', 'tier-unknown': 'fired', 'open-orders': 'fired', 'open-tickets': 'fired' });
    assert.equal(decision.priority, 30);
    const shown = await sidebar(id);
    assert.deepEqual(shown.parts.openTickets.data.map((t: any) => [t.id, t.sourceStatus]), [['T-1', 'escalated']]);
    const { status } = await chat(gw, undefined, 'GET', `/v1/conversations/${id}`);
    assert.equal(status, 200);
  });
});

describe('a ticket connector written before `other` existed', () => {
  test('its status filter refuses `other`: the context asks it for the open statuses alone, and its open tickets still show', async () => {
    const legacy = await startTestGateway({ OMNIGATE_CONNECTORS_DIR: join(dir, 'connectors-legacy'), OMNIGATE_CONNECTOR_SHOP_JSON_BASE_URL: server.url });
    try {
      const refused = await legacy.api('/v1/customers/cus_old/tickets?status=other');
      assert.equal(refused.status, 400, 'the connector really refuses other');
      const body = await assertMatchesSpec(await legacy.api('/v1/customers/cus_old/context'), 'getCustomerContext');
      assert.equal(body.parts.openTickets.status, 'ok', JSON.stringify(body.parts.openTickets.error));
      assert.deepEqual(body.parts.openTickets.data.map((t: any) => [t.id, t.status]), [['T-4', 'open']]);
    } finally {
      await legacy.stop();
    }
  });
});
