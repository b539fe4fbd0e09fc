import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { customerHmac } from '../../src/modules/identity/widget-keys.ts';
import { agentToken, chat, CHAT_RUN, chatEnv, type Caller } from '../support/chat-rest.ts';
import { setFault, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { assertMatchesSpec } from '../support/spec.ts';

// The agent's sidebar against a real gateway over the three real backends: a verified visitor's
// conversation, assigned to an agent, shows the customer's real profile, orders and open tickets.
const SITE = `sidebar-${CHAT_RUN}`;
const WIDGET_KEY = `wk_sidebar_${CHAT_RUN.replace(/[^A-Za-z0-9]/g, '')}_0123456789`;
const IDENTITY_SECRET = 'sidebar-identity-secret-0123456789';
const ADA = `ada-${CHAT_RUN}`;
const BOB = `bob-${CHAT_RUN}`;
const SERVICE: Caller = undefined;
const CUSTOMER = '42';

let gw: TestGateway;
let ada: string;
let bob: string;
let lead: string;
before(async () => {
  gw = await startTestGateway(chatEnv({ OMNIGATE_WIDGET_KEYS: JSON.stringify([{ name: SITE, key: WIDGET_KEY, origins: ['https://shop.example'], identitySecret: IDENTITY_SECRET }]) }));
  [ada, bob, lead] = await Promise.all([agentToken(ADA), agentToken(BOB), agentToken(`lead-${CHAT_RUN}`, 'supervisor')]);
});
after(async () => {
  await setFault('orders', { mode: 'ok' });
  await gw?.stop();
});

/** A widget session, verified as `customerId` when given (the site's HMAC of it). */
async function visitor(customerId?: string): Promise<string> {
  const proof = customerId === undefined ? {} : { customerId, customerHmac: customerHmac(IDENTITY_SECRET, customerId) };
  const res = await fetch(`${gw.url}/v1/widget/sessions`, { method: 'POST', headers: { 'x-widget-key': WIDGET_KEY, 'content-type': 'application/json' }, body: JSON.stringify(proof) });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as { token: string }).token;
}

/** A conversation the visitor starts and agent Ada accepts. */
async function assignedToAda(visitorToken: string): Promise<string> {
  const started = await chat(gw, visitorToken, 'POST', '/v1/conversations', { group: 'sales', message: { contentType: 'text', text: 'where is my order?' } });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const id = String(started.body.conversationId);
  const accepted = await chat(gw, ada, 'POST', `/v1/conversations/${id}/accept`);
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  return id;
}

/** The calls lineage recorded for the conversation with purpose `sidebar`. */
async function sidebarCalls(id: string): Promise<{ capability: string; actor: { kind: string; id: string }; outcome: { status: string } }[]> {
  const trace = await chat(gw, SERVICE, 'GET', `/v1/conversations/${id}/trace?limit=200`);
  assert.equal(trace.status, 200, JSON.stringify(trace.body));
  return (trace.body.messages as { calls: any[] }[]).flatMap((m) => m.calls).filter((c) => c.purpose === 'sidebar');
}

const sidebar = (caller: Caller, id: string) => gw.api(`/v1/conversations/${id}/context`, caller === undefined ? {} : { headers: { authorization: `Bearer ${caller}` } });
const ids = (items: { id: string }[]) => items.map((i) => i.id);

describe("the agent's sidebar", () => {
  let conversationId: string;
  let visitorToken: string;
  before(async () => {
    visitorToken = await visitor(CUSTOMER);
    conversationId = await assignedToAda(visitorToken);
  });

  test("shows the verified customer's real profile, latest orders and open tickets to the agent it is assigned to", async () => {
    const body = await assertMatchesSpec(await sidebar(ada, conversationId), 'getConversationContext');
    assert.equal(body.conversationId, conversationId);
    assert.equal(body.customerId, CUSTOMER);
    assert.equal(body.complete, true);
    assert.equal(body.botFindings, null);
    const { customer, orders, openTickets } = body.parts;
    for (const part of [customer, orders, openTickets]) {
      assert.equal(part.status, 'ok');
      assert.equal(part.message, undefined);
    }
    // The same records the query API reads from the real backends for that customer.
    const direct = (await (await gw.api(`/v1/customers/${CUSTOMER}/context`)).json()) as { parts: Record<string, { data: any }> };
    assert.equal(customer.data.id, CUSTOMER);
    assert.deepEqual(customer.data, direct.parts.customer?.data);
    assert.ok(orders.data.length > 0);
    assert.deepEqual(ids(orders.data), ids(direct.parts.orders?.data));
    for (const order of orders.data) assert.equal(order.customerRef, customer.data.externalIds.orders);
    assert.deepEqual(ids(openTickets.data), ids(direct.parts.openTickets?.data));
    for (const ticket of openTickets.data) assert.ok(['new', 'open', 'pending'].includes(ticket.status));
    // Its calls are attributed to the conversation, as Ada's: lineage records them.
    const calls = await sidebarCalls(conversationId);
    assert.deepEqual(calls.map((c) => c.capability).sort(), ['customer.get', 'order.list', 'ticket.list']);
    for (const call of calls) assert.deepEqual([call.actor, call.outcome.status], [{ kind: 'agent', id: ADA }, 'ok']);
    // Supervisors and services may read it too.
    assert.equal((await sidebar(lead, conversationId)).status, 200);
    assert.equal((await sidebar(SERVICE, conversationId)).status, 200);
  });

  test('with the orders backend failing after a good answer, the orders part is stale and says how old it is', async () => {
    const first = await assertMatchesSpec(await sidebar(ada, conversationId), 'getConversationContext');
    assert.equal(first.parts.orders.status, 'ok');
    await setFault('orders', { mode: 'error' });
    try {
      const body = await assertMatchesSpec(await sidebar(ada, conversationId), 'getConversationContext');
      const { orders, customer, openTickets } = body.parts;
      assert.equal(orders.status, 'stale');
      assert.match(orders.message, /^Orders are unavailable; showing data from \d+ (second|seconds|minute|minutes) ago$/);
      assert.deepEqual(ids(orders.data), ids(first.parts.orders.data));
      assert.equal(orders.error.code, 'UPSTREAM_UNAVAILABLE');
      assert.equal(body.complete, false);
      assert.deepEqual([customer.status, openTickets.status], ['ok', 'ok']);
      const shownStale = (await sidebarCalls(conversationId)).filter((c) => c.capability === 'order.list' && c.outcome.status === 'stale');
      assert.equal(shownStale.length, 1);
    } finally {
      await setFault('orders', { mode: 'ok' });
    }
  });

  test('another agent gets 404 as if the conversation did not exist, and a visitor — even its own — is refused', async () => {
    const other = await assertMatchesSpec(await sidebar(bob, conversationId), 'getConversationContext');
    assert.equal(other.code, 'NOT_FOUND');
    const own = await assertMatchesSpec(await sidebar(visitorToken, conversationId), 'getConversationContext');
    assert.equal(own.code, 'FORBIDDEN');
    const stranger = await sidebar(await visitor(), conversationId);
    assert.equal(stranger.status, 403);
    const missing = await assertMatchesSpec(await sidebar(ada, '3f1c9a2e-7b4d-4c1a-9e2f-5a6b7c8d9e0f'), 'getConversationContext');
    assert.equal(missing.code, 'NOT_FOUND');
  });

  test('an anonymous visitor has no customer to show: 200, every part says so plainly', async () => {
    const id = await assignedToAda(await visitor());
    const body = await assertMatchesSpec(await sidebar(ada, id), 'getConversationContext');
    assert.equal(body.customerId, null);
    assert.equal(body.complete, false);
    assert.match(body.message, /not a verified customer/);
    for (const part of Object.values(body.parts) as { status: string; message: string; data?: unknown }[]) {
      assert.equal(part.status, 'none');
      assert.match(part.message, /verified customer|not signed in/);
      assert.equal(part.data, undefined);
    }
  });
});
