import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { createKitBot, order, saidIn as said } from '../../../../test/support/bot-dialogue-kit.ts';
import { ROOT_DIR } from '../../../../test/support/gateway.ts';
import { createBotKnowledge } from '../nlu/bot-knowledge.ts';

// The return/complaint form under the same privacy rule as order status: only the verified
// customer's own orders, or an order whose email an anonymous visitor proved; the item one of its lines.
const knowledge = createBotKnowledge({ dir: join(ROOT_DIR, 'config/bot'), log: pino({ level: 'silent' }), pollMs: 0, watch: false });
after(() => knowledge.close());

const rig = (customerId?: string) => createKitBot(knowledge, customerId);
const filed = (r: ReturnType<typeof rig>) => r.calls.filter((c) => c.capability === 'requester.ensure' || c.capability === 'ticket.create');

describe('return form: whose order it is', () => {
  test('an anonymous visitor is asked for the order\'s email first; a wrong one files nothing and is asked again', async () => {
    const r = rig();
    const asked = await r.say('I want to return the docking station from ORD-0000003');
    assert.equal(asked.kind, 'ask');
    assert.match(said(asked), /email address on the order/);
    const wrong = await r.say('ada@example.com');
    assert.equal(wrong.kind, 'ask');
    assert.match(said(wrong), /does not match[\s\S]*email address on the order/);
    assert.deepEqual(r.calls.find((c) => c.capability === 'customer.list')?.params, { email: 'ada@example.com', pageSize: 10 });
    assert.deepEqual(filed(r), [], 'no requester, no ticket');
  });

  test('an email the tickets system would refuse is not taken as the proof: asked again, nothing looked up or filed', async () => {
    const r = rig();
    await r.say('I want to return the docking station from ORD-0000003');
    // The NLU's pattern takes it; `format: email` (the Requester's, the CRM's) does not.
    const again = await r.say('two..dots@example.com');
    assert.equal(again.kind, 'ask');
    assert.match(said(again), /email address on the order/);
    assert.equal(r.calls.find((c) => c.capability === 'customer.list'), undefined, 'no look-up with it');
    assert.deepEqual(filed(r), []);
  });

  test('with the order\'s email proven (the same proof as order status) the form goes on, and the ticket names order, item and reason', async () => {
    const r = rig();
    await r.say('I want to return the docking station from ORD-0000003');
    assert.match(said(await r.say('bob@example.com')), /reason/);
    assert.deepEqual(filed(r), [], 'nothing filed before the reason');
    const done = await r.say('it arrived broken');
    assert.match(said(done), /opened ticket TCK-100 for your return/);
    assert.deepEqual(filed(r)[0]?.params, { email: 'bob@example.com' }, 'the proven email is the contact');
    const description = String(filed(r)[1]?.params.description);
    assert.match(description, /^it arrived broken/);
    assert.match(description, /Order: ORD-0000003/);
    assert.match(description, /Item: Docking station \(SKU-DK-05\)/);
    const capabilities = r.calls.map((c) => c.capability);
    assert.ok(capabilities.indexOf('customer.list') < capabilities.indexOf('ticket.create'));
  });

  test('a verified customer may file only for an own order: another customer\'s is refused without asking for proof', async () => {
    const r = rig('42');
    const refused = await r.say('I want to return the docking station from ORD-0000003');
    assert.equal(refused.kind, 'ask');
    assert.match(said(refused), /ORD-0000003 is not on your account/);
    assert.doesNotMatch(said(refused), /email/);
    assert.match(said(await r.say('ORD-0000001')), /reason/);
    assert.match(said(await r.say('it does not charge')), /opened ticket/);
    assert.match(String(filed(r)[1]?.params.description), /Order: ORD-0000001/);
  });

  test('walking order numbers through the form counts against the same limit as order status', async () => {
    const r = rig();
    await r.say('where is ORD-0000001');
    await r.say('where is ORD-0000002');
    assert.match(said(await r.say('I want to return something')), /Which order/);
    assert.match(said(await r.say('ORD-0000003')), /email address on the order/);
    const lookups = r.calls.length;
    assert.match(said(await r.say('ORD-0000009')), /cannot look up more order numbers/);
    assert.equal(r.calls.length, lookups, 'the fourth number was not looked up');
    const handed = await r.say('ORD-0000010');
    assert.equal(handed.kind === 'handover' && handed.reason, 'policy');
    assert.deepEqual(filed(r), []);
  });
});

describe('return form: which item', () => {
  test('an item not on the order is asked again, listing the order\'s items by name', async () => {
    const r = rig('42');
    const asked = await r.say('I want to return the monitor from ORD-0000001');
    assert.equal(asked.kind, 'ask');
    assert.match(said(asked), /not on order ORD-0000001[\s\S]*Docking station/);
    assert.match(said(await r.say('the docking station')), /reason/);
    await r.say('too noisy');
    assert.match(String(filed(r)[1]?.params.subject), /Docking station \(SKU-DK-05\), order ORD-0000001/);
  });

  test('an item the catalogue does not know is recognised by its name on the order', async () => {
    const r = rig('42');
    r.orders.set('ORD-0000004', order('ORD-0000004', 'C-1', 'delivered', 'SKU-TA-09', 'Travel adapter'));
    assert.match(said(await r.say('I want to return something from ORD-0000004')), /Which item/);
    const unknown = await r.say('the blender');
    assert.match(said(unknown), /Travel adapter/);
    assert.match(said(await r.say('the travel adapter')), /reason/);
    await r.say('wrong plug');
    assert.match(String(filed(r)[1]?.params.description), /Item: Travel adapter \(SKU-TA-09\)/);
  });
});
