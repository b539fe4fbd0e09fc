// The built-in bot (OMNIGATE_CHAT_BOT=builtin) talking to visitors over the real WebSocket, its
// answers read from the real orders, CRM and tickets backends of this test run through the query
// API: order status in English and Chinese, its privacy rules, the return form's ticket, the
// handover on "转人工" with the bot's findings, and the orders backend down.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { customerHmac } from '../../src/modules/identity/widget-keys.ts';
import { agentToken, CHAT_ENV, CHAT_ORIGIN, CHAT_SITE, visitorSocket, WIDGET_KEY } from '../support/chat-principals.ts';
import { backendAdmin, ROOT_DIR, setFault, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { assertMatchesSpec } from '../support/spec.ts';
import { waitFor } from '../support/wait.ts';
import type { WsTestClient } from '../support/ws-client.ts';

const IDENTITY_SECRET = 'bot-identity-secret-0123456789abcdef';

interface OrderView { id: string; customerRef: string; status: string; total: { amount: string; currency: string }; lines: { sku: string; name: string }[] }
interface CustomerView { id: string; email: string; externalIds: Record<string, string> }

let gw: TestGateway;
before(async () => {
  gw = await startTestGateway({
    ...CHAT_ENV,
    OMNIGATE_WIDGET_KEYS: JSON.stringify([{ name: CHAT_SITE, key: WIDGET_KEY, origins: [CHAT_ORIGIN], identitySecret: IDENTITY_SECRET }]),
    OMNIGATE_CHAT_BOT: 'builtin',
    // Nobody answers here: the chat's own timers must not move the conversations meanwhile.
    OMNIGATE_CHAT_AGENT_ANSWER_MS: '3600000', OMNIGATE_CHAT_VISITOR_IDLE_MS: '3600000',
    // The orders backend comes back between tests: its breaker lets calls through again soon.
    OMNIGATE_CALL_TIMEOUT_MS: '1000', OMNIGATE_RESILIENCE_ORDERS_JAVA_RESET_TIMEOUT_MS: '100',
  });
});
after(() => gw?.stop());
afterEach(() => setFault('orders', { mode: 'ok' }));

/** Read through the gateway as a service: the seed's real records (the query envelope's data). */
const read = async <T>(path: string): Promise<T> => {
  const reply = await gw.api(path);
  assert.equal(reply.status, 200, `${path}: ${reply.status}`);
  return ((await reply.json()) as { data: T }).data;
};
/** What the bot's calls for one conversation said they showed of an order, oldest first (its lineage). */
const shownOf = async (orderId: string, conversationId: string, count: number): Promise<string[]> => waitFor(`${count} lineage entries of ${orderId}`, async () => {
  const reply = await gw.api(`/v1/lineage/orders/${orderId}`);
  const { items } = (await reply.json()) as { items: { conversationId: string; capability: string; shown?: string; actor: { kind: string } }[] };
  const mine = items.filter((i) => i.conversationId === conversationId && i.actor.kind === 'bot' && i.capability === 'order.get').map((i) => String(i.shown)).reverse();
  return mine.length >= count && mine;
});
const customer = (id: string) => read<CustomerView>(`/v1/customers/${id}`);
const ordersOf = async (id: string) => (await read<{ items: OrderView[] }>(`/v1/customers/${id}/orders?pageSize=5`)).items;

/** A visitor in a conversation with the bot, verified as `customerId` when given. */
async function withBot(customerId?: string, language?: string) {
  const identity = customerId === undefined ? {} : { customerId, customerHmac: customerHmac(IDENTITY_SECRET, customerId) };
  const session = await fetch(`${gw.url}/v1/widget/sessions`, { method: 'POST', headers: { 'x-widget-key': WIDGET_KEY, origin: CHAT_ORIGIN, 'content-type': 'application/json' }, body: JSON.stringify(identity) });
  assert.equal(session.status, 201, await session.clone().text());
  const { token } = (await session.json()) as { token: string };
  const visitor: WsTestClient = await visitorSocket(gw, token);
  const started = await visitor.request({ type: 'conversation.start', ...(language === undefined ? {} : { language }) });
  assert.equal(started.type, 'ack', JSON.stringify(started));
  const conversationId = String(started.conversationId);
  assert.equal((await visitor.request({ type: 'subscribe', conversationId, afterSeq: 0 })).type, 'subscribed');
  const botSaid = (afterSeq: number) => visitor.events(conversationId)
    .filter((e) => e.seq > afterSeq && e.type === 'conversation.message_sent' && (e.data.author as { kind: string }).kind === 'bot')
    .map((e) => String(e.data.text)).join('\n');
  return {
    conversationId,
    /** Says `text` and waits for the bot's answer to match `expected`; resolves with all it said to it. */
    async say(text: string, expected: RegExp): Promise<string> {
      const ack = await visitor.request({ type: 'message.send', conversationId, contentType: 'text', text });
      assert.equal(ack.type, 'ack', JSON.stringify(ack));
      return waitFor(`the bot's answer to "${text}" matching ${expected}`, () => expected.test(botSaid(Number(ack.seq))) && botSaid(Number(ack.seq)), { detail: () => botSaid(Number(ack.seq)) });
    },
    /** Waits until the conversation is queued, and reads its events as staff sees them. */
    async queued(): Promise<{ reason: string; classification?: Record<string, unknown>; findings?: Record<string, any> }> {
      return waitFor(`conversation ${conversationId} queued by the bot`, async () => {
        const { events } = (await (await gw.api(`/v1/conversations/${conversationId}/events`)).json()) as { events: { type: string; by: { kind: string }; data: any }[] };
        const queued = events.find((e) => e.type === 'conversation.queued' && e.by.kind === 'bot');
        return queued?.data;
      });
    },
    close: () => visitor.close(),
  };
}

describe('order status, answered from the real orders backend', () => {
  test('in English, a verified customer gets the details of an own order', async () => {
    const ada = await customer('42');
    const [order] = await ordersOf('42');
    assert.ok(order, 'customer 42 has orders in the seed');
    const bot = await withBot('42');
    const said = await bot.say(`where is my order ${order.id}`, /Total:/);
    assert.match(said, new RegExp(`Order ${order.id} `));
    assert.ok(said.includes(order.lines[0]!.name), said);
    assert.ok(said.includes(`${order.total.amount} ${order.total.currency}`), said);
    assert.equal(order.customerRef, ada.externalIds.orders);
    // One read of the order per answer: its lineage entry says what was shown of it.
    assert.deepEqual(await shownOf(order.id, bot.conversationId, 1), ['order details, verified customer']);
    await bot.close();
  });

  test('in Chinese, a verified customer without a number picks from the recent orders', async () => {
    const orders = await ordersOf('42');
    assert.ok(orders.length >= 2, 'customer 42 has at least two orders in the seed');
    const bot = await withBot('42');
    const list = await bot.say('我的订单到哪了', /序号/);
    assert.ok(list.includes(`1) ${orders[0]!.id}`) && list.includes(`2) ${orders[1]!.id}`), list);
    const picked = await bot.say('2', /合计/);
    assert.match(picked, new RegExp(`订单${orders[1]!.id}`));
    assert.ok(picked.includes(orders[1]!.lines[0]!.name), picked);
    await bot.close();
  });

  test('in Chinese with the number: 我的订单ORD-…到哪了', async () => {
    const [order] = await ordersOf('42');
    const bot = await withBot('42', 'zh');
    const said = await bot.say(`我的订单${order!.id}到哪了`, /合计/);
    assert.match(said, new RegExp(`订单${order!.id}`));
    await bot.close();
  });
});

describe('an anonymous visitor', () => {
  test('gets the status only after proving the order\'s email; a wrong email gets nothing; details are never shown', async () => {
    const [order] = await ordersOf('7');
    const owner = await customer('7');
    const other = await customer('8');
    const bot = await withBot();
    await bot.say(`where is my order ${order!.id}?`, /email address on the order/);
    const wrong = await bot.say(other.email, /does not match/);
    assert.ok(!wrong.includes(order!.lines[0]!.name));
    await bot.say(`where is my order ${order!.id}?`, /email address on the order/);
    const right = await bot.say(owner.email, /please sign in/);
    assert.match(right, new RegExp(`Order ${order!.id} `));
    assert.ok(!right.includes(order!.lines[0]!.name), 'no items');
    assert.ok(!right.includes(order!.total.amount), 'no total');
    // The order's lineage says what this visitor was shown: nothing until the proof, then the status only.
    assert.deepEqual(await shownOf(order!.id, bot.conversationId, 3), [
      'nothing (whose order it is), anonymous visitor', 'nothing (whose order it is), anonymous visitor', 'status only, anonymous visitor (email proven)',
    ]);
    await bot.close();
  });

  test('walking order numbers: the fourth unproven number is refused, the next try hands over', async () => {
    const orders = await ordersOf('9');
    const ids = [...orders.map((o) => o.id), 'ORD-0000011', 'ORD-0000012', 'ORD-0000013', 'ORD-0000014'].slice(0, 5);
    const bot = await withBot();
    for (const id of ids.slice(0, 3)) await bot.say(`where is ${id}`, /email address on the order|cannot find order/);
    await bot.say(`where is ${ids[3]}`, /cannot look up more order numbers/);
    await bot.say(`where is ${ids[4]}`, /passing you to a colleague/);
    const queued = await bot.queued();
    assert.equal(queued.findings?.intent, 'order_status');
    await bot.close();
  });
});

describe('the return form', () => {
  test('which order, which item, why: a real ticket in the tickets system, its number told', async () => {
    const ada = await customer('42');
    const [order] = await ordersOf('42');
    const item = order!.lines[0]!;
    const bot = await withBot('42');
    await bot.say(`I want to return something from ${order!.id}`, /Which item/);
    await bot.say(`the ${item.name}`, /reason/);
    const done = await bot.say('It stopped working after two days.', /opened ticket/);
    const ticketId = /ticket (\S+) for your return/.exec(done)?.[1];
    assert.ok(ticketId, done);
    const ticket = await read<{ requesterRef: string; subject: string; description: string; channel: string }>(`/v1/tickets/${ticketId}`);
    assert.equal(ticket.requesterRef, ada.externalIds.tickets);
    assert.ok(ticket.subject.includes(order!.id) && ticket.subject.includes(item.sku), ticket.subject);
    assert.match(ticket.description, /^It stopped working after two days\./);
    assert.equal(ticket.channel, 'chat');
    await bot.close();
  });

  test('in Chinese, an anonymous visitor\'s complaint: the product by its Chinese name, the order\'s email proven, a real ticket for that requester', async () => {
    const owner = await customer('11');
    const [order] = await ordersOf('11');
    const item = order!.lines[0]!;
    const aliases = JSON.parse(readFileSync(join(ROOT_DIR, 'config/bot/entities.json'), 'utf8')) as { products: Record<string, { zh: string[] }> };
    const zhName = aliases.products[item.sku]!.zh[0]!;
    const bot = await withBot();
    // The order's email first (the proof), which is also where the ticket is sent.
    await bot.say(`我要投诉，订单${order!.id}的${zhName}`, /邮箱/);
    await bot.say(owner.email, /原因/);
    const done = await bot.say('收到的时候外包装已经破损了', /投诉工单/);
    const ticketId = /投诉工单 (\S+)，/.exec(done)?.[1];
    assert.ok(ticketId, done);
    const ticket = await read<{ requesterRef: string; subject: string; description: string }>(`/v1/tickets/${ticketId}`);
    assert.equal(ticket.requesterRef, owner.externalIds.tickets, 'requester.ensure found the seeded requester of that email');
    assert.ok(ticket.subject.startsWith('Complaint: ') && ticket.subject.includes(item.sku), ticket.subject);
    assert.match(ticket.description, /^收到的时候外包装已经破损了/);
    await bot.close();
  });

  test('an anonymous visitor\'s return for an order that is not theirs is asked for proof, and a wrong email creates no ticket', async () => {
    const [order] = await ordersOf('7');
    const other = await customer('8');
    const ticketsBefore = (await backendAdmin<{ tickets: number }>('tickets', 'stats')).tickets;
    const bot = await withBot(undefined, 'en');
    await bot.say(`I want to return the ${order!.lines[0]!.name} from ${order!.id}`, /email address on the order/);
    await bot.say(other.email, /does not match/);
    assert.equal((await backendAdmin<{ tickets: number }>('tickets', 'stats')).tickets, ticketsBefore, 'the tickets backend has no new ticket');
    const trace = (await (await gw.api(`/v1/conversations/${bot.conversationId}/trace?limit=200`)).json()) as { messages: { calls: { capability: string }[] }[] };
    const called = trace.messages.flatMap((m) => m.calls.map((c) => c.capability));
    assert.ok(called.includes('customer.list') && !called.includes('ticket.create') && !called.includes('requester.ensure'), called.join(', '));
    await bot.close();
  });
});

describe('handing over', () => {
  test('"转人工" queues the conversation with what the bot found, for routing and for the agent', async () => {
    const [order] = await ordersOf('42');
    const bot = await withBot('42');
    await bot.say(`我的订单${order!.id}到哪了`, /合计/);
    await bot.say('转人工', /人工客服/);
    const queued = await bot.queued();
    assert.equal(queued.reason, 'handover');
    assert.equal(queued.classification?.language, 'zh');
    assert.equal(queued.findings?.intent, 'order_status');
    assert.deepEqual(queued.findings?.records, [{ system: 'orders', type: 'order', id: order!.id }]);
    assert.deepEqual(queued.findings?.entities?.order, [order!.id]);
    assert.match(queued.findings?.summary, new RegExp(`${order!.id} ${order!.status}.*wants a person`));
    await bot.close();
  });

  test('the agent who accepts it sees in the sidebar what the bot found and the customer\'s real profile', async () => {
    const profile = await customer('42');
    const [order] = await ordersOf('42');
    const bot = await withBot('42');
    await bot.say(`where is my order ${order!.id}`, /Total:/);
    await bot.say('转人工', /人工客服/);
    await bot.queued();
    const agent = { authorization: `Bearer ${await agentToken(`sidebar-agent-${bot.conversationId}`)}` };
    const accepted = await gw.api(`/v1/conversations/${bot.conversationId}/accept`, { method: 'POST', headers: { ...agent, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(accepted.status, 200, await accepted.clone().text());
    const context = await assertMatchesSpec(await gw.api(`/v1/conversations/${bot.conversationId}/context`, { headers: agent }), 'getConversationContext');
    assert.equal(context.customerId, '42');
    assert.equal(context.botFindings.intent, 'order_status');
    assert.equal(context.botFindings.reason, 'visitor_asked');
    assert.deepEqual(context.botFindings.entities.order, [order!.id]);
    assert.deepEqual(context.botFindings.records, [{ system: 'orders', type: 'order', id: order!.id }]);
    assert.match(context.botFindings.summary, new RegExp(`${order!.id} ${order!.status}`));
    const shown = context.parts.customer;
    assert.equal(shown.status, 'ok');
    assert.deepEqual([shown.data.id, shown.data.email, shown.data.externalIds], [profile.id, profile.email, profile.externalIds]);
    assert.ok((context.parts.orders.data as { id: string }[]).some((o) => o.id === order!.id));
    await bot.close();
  });
});

describe('not understood', () => {
  test('two messages in a row the bot does not understand hand the conversation over', async () => {
    const bot = await withBot(undefined, 'en');
    await bot.say('qwxz plorb', /did not understand/);
    await bot.say('zzgrk vlummp', /passing you to a colleague/);
    const queued = await bot.queued();
    assert.equal(queued.reason, 'handover');
    assert.match(queued.findings?.summary, /did not understand twice/);
    await bot.close();
  });
});

describe('the orders backend down', () => {
  test('the bot says it cannot see orders and offers a person; yes hands over', async () => {
    // A seed order (there are 10,000) of a range no test reads by itself: no last good answer of it is cached.
    const id = `ORD-${String(9000 + Math.floor(Math.random() * 1000)).padStart(7, '0')}`;
    await setFault('orders', { mode: 'down' });
    const bot = await withBot(undefined, 'en');
    const said = await bot.say(`where is my order ${id}`, /talk to a person/);
    assert.match(said, /can't see orders right now/);
    await bot.say('yes', /passing you to a colleague/);
    const queued = await bot.queued();
    assert.match(queued.findings?.summary, /orders unavailable/);
    await bot.close();
  });

  test('an order read before is answered from its last good copy, saying how old it is', async () => {
    const orders = await ordersOf('42');
    const order = orders[orders.length - 1]!;
    const bot = await withBot('42');
    await bot.say(`where is my order ${order.id}`, /Total:/);
    await setFault('orders', { mode: 'down' });
    const said = await bot.say(`where is my order ${order.id}`, /minutes? ago/);
    assert.match(said, new RegExp(`Order ${order.id} `));
    assert.match(said, /the orders system is not answering right now; this is what it said 1 minute ago/);
    await bot.close();
  });
});
