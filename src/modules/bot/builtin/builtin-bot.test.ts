import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { createKitBot, saidIn } from '../../../../test/support/bot-dialogue-kit.ts';
import { createBotKnowledge } from '../nlu/bot-knowledge.ts';
import { ROOT_DIR } from '../../../../test/support/gateway.ts';

// The real understanding and FAQ, from the project's data files (config/bot).
const knowledge = createBotKnowledge({ dir: join(ROOT_DIR, 'config/bot'), log: pino({ level: 'silent' }), pollMs: 0, watch: false });
after(() => knowledge.close());

const rig = (customerId?: string) => createKitBot(knowledge, customerId);
const said = saidIn;

describe('order status', () => {
  test('a verified customer asking in English about an own order gets its details from ONE read, recorded as "order details, verified customer"', async () => {
    const r = rig('42');
    const reply = await r.say('where is my order ORD-0000001');
    assert.equal(reply.kind, 'answer');
    assert.match(said(reply), /Order ORD-0000001 has shipped/);
    assert.match(said(reply), /1 × Docking station.*129\.00 EUR/);
    assert.deepEqual(r.calls.map((c) => [c.capability, c.shown]), [
      ['customer.get', 'nothing (whose orders are theirs), verified customer'],
      ['order.get', 'order details, verified customer'],
    ]);
  });

  test('a verified customer asking about someone else\'s order: the one read says it showed nothing', async () => {
    const r = rig('42');
    await r.say('where is ORD-0000003?');
    assert.deepEqual(r.calls.filter((c) => c.capability === 'order.get').map((c) => c.shown), ['nothing (whose order it is), verified customer']);
  });

  test('an anonymous visitor asking in Chinese is asked for the email, and with the right one gets the status only', async () => {
    const r = rig();
    const first = await r.say('我的订单ORD-0000001到哪了');
    assert.equal(first.kind, 'ask');
    assert.match(said(first), /邮箱/);
    const wrong = await r.say('bob@example.com');
    assert.match(said(wrong), /不符/);
    assert.doesNotMatch(said(wrong), /已发货/);
    await r.say('我的订单ORD-0000001到哪了');
    const right = await r.say('ada@example.com');
    assert.match(said(right), /订单ORD-0000001已发货/);
    assert.doesNotMatch(said(right), /Docking|129/, 'no items, no total');
    assert.equal(r.calls.at(-1)?.shown, 'status only, anonymous visitor (email proven)');
    assert.ok(!r.calls.some((c) => c.shown === 'order details, verified customer'));
  });

  test('a verified customer asking about someone else\'s order gets no details: proof is asked as of anyone', async () => {
    const r = rig('42');
    const reply = await r.say('where is ORD-0000003?');
    assert.equal(reply.kind, 'ask');
    assert.doesNotMatch(said(reply), /paid|Docking/);
  });

  test('without a number a verified customer picks from the recent orders; the next message picks one', async () => {
    const r = rig('42');
    const list = await r.say('where is my order?');
    assert.equal(list.kind, 'ask');
    assert.match(said(list), /1\) ORD-0000001 · shipped · 2026-11-20\n2\) ORD-0000002 · delivered/);
    const picked = await r.say('2');
    assert.match(said(picked), /Order ORD-0000002 has been delivered.*\n.*27" monitor/);
  });

  test('an order in a status the orders system has no canonical name for (`other`) is told in the source\'s words, in the list and in the answer', async () => {
    const r = rig('42');
    const onHold = { ...r.orders.get('ORD-0000001')!, status: 'other', sourceStatus: 'ON_HOLD' };
    r.orders.set('ORD-0000001', onHold);
    const list = await r.say('where is my order?');
    assert.match(said(list), /1\) ORD-0000001 · "ON_HOLD" · 2026-11-20/);
    const picked = await r.say('1');
    assert.match(said(picked), /Order ORD-0000001 has the status "ON_HOLD" in the orders system \(ordered on 2026-11-20\)/);
    assert.doesNotMatch(said(picked), /is other/);
    const zh = rig('42');
    zh.orders.set('ORD-0000001', onHold);
    assert.match(said(await zh.say('我的订单ORD-0000001到哪了')), /订单ORD-0000001在订单系统中的状态为"ON_HOLD"/);
    const handed = await zh.say('转人工');
    assert.match(handed.kind === 'handover' ? handed.findings?.summary ?? '' : '', /ORD-0000001 other \(ON_HOLD\)/, 'the agent is told what the source said too');
  });

  test('an anonymous visitor without a number is asked for it, and the next message gives it', async () => {
    const r = rig();
    assert.match(said(await r.say('where is my order?')), /ORD-0001234/);
    assert.match(said(await r.say('ORD-0000003')), /email address on the order/);
  });

  test('walking order numbers: the fourth unproven number is refused without a look-up, the next try hands over', async () => {
    const r = rig();
    for (const n of [1, 2, 3]) assert.equal((await r.say(`where is ORD-000000${n}`)).kind, 'ask');
    const lookups = r.calls.length;
    const refused = await r.say('where is ORD-0000009');
    assert.match(said(refused), /cannot look up more order numbers/);
    assert.equal(r.calls.length, lookups, 'the fourth number was not looked up');
    const handed = await r.say('where is ORD-0000010');
    assert.equal(handed.kind, 'handover');
    assert.equal(handed.kind === 'handover' && handed.reason, 'policy');
  });

  test('guessing the email of an order: past three wrong emails a person takes over', async () => {
    const r = rig();
    await r.say('where is ORD-0000001');
    for (const guess of ['a@example.com', 'b@example.com', 'c@example.com']) {
      assert.match(said(await r.say(guess)), /does not match/);
      await r.say('where is ORD-0000001');
    }
    const handed = await r.say('bob@example.com');
    assert.equal(handed.kind === 'handover' && handed.reason, 'policy');
  });

  test('a stale answer is used for the status and says how old it is', async () => {
    const r = rig('42');
    r.stale.set('order.get', 240_000);
    r.down.set('orders', 'UPSTREAM_UNAVAILABLE');
    const reply = await r.say('where is ORD-0000001');
    assert.match(said(reply), /has shipped[\s\S]*4 minutes ago/);
  });
});

describe('a source down', () => {
  test('orders down: it says it cannot see orders and offers a person; "yes" hands over with the reason', async () => {
    const r = rig();
    r.down.set('orders', 'CIRCUIT_OPEN');
    const reply = await r.say('where is my order ORD-0000001');
    assert.equal(reply.kind, 'ask');
    assert.match(said(reply), /can't see orders right now[\s\S]*talk to a person/);
    const handed = await r.say('yes please');
    assert.equal(handed.kind, 'handover');
    if (handed.kind !== 'handover') return;
    assert.equal(handed.reason, 'source_down');
    assert.match(handed.findings.summary ?? '', /orders unavailable \(CIRCUIT_OPEN\)/);
  });

  test('in Chinese: 我现在查不到订单信息; declined, and asked again once it is back, it answers', async () => {
    const r = rig();
    r.down.set('orders', 'UPSTREAM_TIMEOUT');
    assert.match(said(await r.say('我的订单ORD-0000001到哪了')), /我现在查不到订单信息[\s\S]*转人工/);
    assert.equal((await r.say('不用了')).kind, 'answer');
    r.down.clear();
    assert.match(said(await r.say('我的订单ORD-0000001到哪了')), /邮箱/);
  });

  test('"agent" after the offer hands over too', async () => {
    const r = rig('42');
    r.down.set('crm', 'CIRCUIT_OPEN');
    assert.match(said(await r.say('where is my order?')), /can't see customer accounts/);
    const handed = await r.say('agent');
    assert.equal(handed.kind === 'handover' && handed.reason, 'visitor_asked');
  });
});

describe('return and complaint form', () => {
  test('which order (its email proven), which item, why: then requester.ensure and ticket.create, the number told; the same form makes no second ticket', async () => {
    const r = rig();
    assert.match(said(await r.say('I want to return something')), /Which order/);
    assert.match(said(await r.say('ORD-0000002')), /email address on the order/);
    assert.match(said(await r.say('ada@example.com')), /Which item/);
    assert.match(said(await r.say('the thing')), /could not recognise[\s\S]*27" monitor/);
    assert.match(said(await r.say('the monitor')), /reason/);
    const done = await r.say('it flickers');
    assert.match(said(done), /opened ticket TCK-100 for your return/);
    const created = r.calls.find((c) => c.capability === 'ticket.create')!;
    assert.equal(created.params.subject, 'Return: 27" monitor (SKU-MN-04), order ORD-0000002');
    assert.match(String(created.params.description), /^it flickers/);
    assert.deepEqual(r.calls.map((c) => [c.capability, c.shown]), [
      ['order.get', 'nothing (whose order it is), anonymous visitor'],
      ['customer.list', 'nothing (proof of the email of an order), anonymous visitor'],
      ['order.get', 'item names of the order (which item), anonymous visitor (email proven)'],
      ['requester.ensure', 'nothing (the requester of a ticket)'],
      ['ticket.create', 'ticket number, to the visitor'],
    ]);
    const key = created.params.idempotencyKey;
    // The same form in the same conversation again: the same client request id, the same ticket.
    await r.say('I want to return the monitor from ORD-0000002');
    await r.say('it flickers');
    assert.match(said(await r.say('ada@example.com')), /TCK-100/);
    assert.equal(r.calls.filter((c) => c.capability === 'ticket.create').at(-1)?.params.idempotencyKey, key);
  });

  test('a verified customer\'s complaint in Chinese: the product by its Chinese alias, the email from the CRM', async () => {
    const r = rig('42');
    assert.match(said(await r.say('我要投诉，订单ORD-0000001的扩展坞')), /原因/);
    const done = await r.say('发货太慢了，包装也破了');
    assert.match(said(done), /投诉工单 TCK-100/);
    assert.deepEqual(r.calls.find((c) => c.capability === 'requester.ensure')?.params, { email: 'ada@example.com' });
  });

  test('the reason is whatever the visitor says, even words of another intent; a question of another kind leaves the form', async () => {
    const r = rig('42');
    await r.say('return ORD-0000001 docking station');
    assert.match(said(await r.say('where is the problem: it does not charge, I complain')), /opened ticket TCK-100/);
    await r.say('I want to return the monitor');
    assert.equal(said(await r.say('how long does shipping take?')), knowledge.faq('shipping_time', 'en'));
  });

  test('tickets down: it says so and offers a person', async () => {
    const r = rig('42');
    r.down.set('tickets', 'CONNECTOR_UNAVAILABLE');
    await r.say('return ORD-0000001 docking station');
    assert.match(said(await r.say('it arrived broken')), /can't open a ticket right now[\s\S]*person/);
  });
});

describe('FAQ, handoff and not understanding', () => {
  test('FAQ answers come from the knowledge, in the visitor\'s language', async () => {
    const r = rig();
    assert.match(said(await r.say('how long does shipping take?')), /Standard delivery takes 2–4 working days/);
    assert.match(said(await r.say('多久发货？')), /标准配送需要2–4个工作日/);
  });

  test('"转人工" hands over with the findings: intent, entities, the orders looked at, a summary, and routing\'s classification', async () => {
    const r = rig('42');
    await r.say('我的订单ORD-0000001到哪了');
    const handed = await r.say('转人工');
    assert.equal(handed.kind, 'handover');
    if (handed.kind !== 'handover') return;
    assert.equal(handed.reason, 'visitor_asked');
    assert.deepEqual(handed.classification, { intent: 'orders', language: 'zh' });
    assert.deepEqual(r.classified, [[['我的订单ORD-0000001到哪了', '转人工'], 'zh']], 'everything the visitor said, and the language');
    assert.deepEqual(handed.findings.entities, { order: ['ORD-0000001'] });
    assert.deepEqual(handed.findings.records, [{ system: 'orders', type: 'order', id: 'ORD-0000001' }]);
    assert.equal(handed.findings.intent, 'order_status');
    assert.equal(handed.findings.summary, 'order_status; ORD-0000001 shipped; wants a person');
    assert.match(said(handed), /人工客服/);
  });

  test('a person asked for in one clause of a message hands over, though the whole reads as order status', async () => {
    const r = rig();
    const handed = await r.say('where is my order? agent');
    assert.equal(handed.kind === 'handover' && handed.reason, 'visitor_asked');
    assert.equal(r.calls.length, 0);
  });

  test('two failed understandings in a row hand over; one in between understood resets the count', async () => {
    const r = rig();
    assert.equal((await r.say('blorp')).kind, 'ask');
    assert.equal((await r.say('hello')).kind, 'answer');
    assert.equal((await r.say('blorp')).kind, 'ask');
    const handed = await r.say('zzz');
    assert.equal(handed.kind === 'handover' && handed.reason, 'not_understood');
  });

  test('the same message again (the job ran twice) answers the same without asking the systems again', async () => {
    const r = rig('42');
    const first = await r.bot.reply(r.talk.input('where is ORD-0000001'));
    const calls = r.calls.length;
    assert.deepEqual(await r.bot.reply(r.talk.input('where is ORD-0000001', true)), first);
    assert.equal(r.calls.length, calls);
  });

  test('what it made of each message is recorded for lineage, once per message id', async () => {
    const r = rig();
    await r.say('where is ORD-0000003 ada@example.com');
    assert.deepEqual(r.understood.map((u) => [u.id, u.messageSeq, u.intent, u.entities]), [
      ['und_c-1_5', 5, 'order_status', { order: ['ORD-0000003'], product: [], email: ['ada@example.com'] }],
    ]);
  });
});

describe('a customer the customer master knows only by id and name', () => {
  test('asking about an order: no email and no orders id is unknown, not a crash; the order is not shown as theirs', async () => {
    const r = rig('44');
    const reply = await r.say('where is my order ORD-0000001');
    assert.notEqual(reply.kind, 'answer', said(reply));
    assert.doesNotMatch(said(reply), /has shipped|Docking station/);
    assert.deepEqual(r.calls.map((c) => c.capability).slice(0, 2), ['customer.get', 'order.get']);
  });
});
