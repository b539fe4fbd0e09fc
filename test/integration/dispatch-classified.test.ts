import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { CONVERSATIONS_TOPIC } from '../../src/kernel/events.ts';
import { chat } from '../support/chat-rest.ts';
import { dispatchEnv, dispatchRig, own as g } from '../support/dispatch-rig.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TEST_KAFKA_BROKERS } from '../support/ports.ts';
import { assertMatchesSpec } from '../support/spec.ts';
import { waitFor } from '../support/wait.ts';

// The bot's classification as routing data, and routing decisions as events on Kafka: a real
// gateway with the built-in bot (OMNIGATE_CHAT_BOT=builtin), routing dispatch, and the test Kafka
// (its outbox relays every conversation event to omnigate.conversations). The rules route on the
// fact `bot.intent`; the visitor talks to the bot, asks for a person, and the bot hands over with
// what it made of the conversation.
const RULES = {
  version: `dispatch-classified-${g('rules')}`,
  defaultGroup: g('front'),
  rules: [
    { name: 'orders-intent', when: { fact: 'bot.intent', eq: 'orders' }, then: { group: g('orders'), priority: 10 } },
    { name: 'billing-intent', when: { fact: 'bot.intent', eq: 'billing' }, then: { group: g('billing') } },
  ],
};

let gw: TestGateway;
const rig = dispatchRig();

before(async () => {
  gw = await startTestGateway(dispatchEnv({ OMNIGATE_CHAT_BOT: 'builtin', KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(',') }));
  await rig.rules(gw, RULES);
});
after(async () => {
  await rig.close();
  await gw?.stop();
});

/** A visitor's conversation with the bot (the widget's language `en`), after it said each of `texts`. */
async function talk(texts: readonly string[]): Promise<{ id: string; token: string }> {
  const { token } = await rig.visitor(gw);
  const started = await chat(gw, token, 'POST', '/v1/conversations', { group: g('front'), language: 'en' });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const id = String(started.body.conversationId);
  assert.equal(started.body.conversation.status, 'bot');
  for (const text of texts) {
    const sent = await chat(gw, token, 'POST', `/v1/conversations/${id}/messages`, { contentType: 'text', text });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
  }
  return { id, token };
}

const decided = (id: string) => waitFor(`the routing decision of ${id}`, async () => (await rig.routingOf(gw, id)).decision ?? undefined);

describe('routing on the bot\'s classification', () => {
  test('"where is my order? agent": the bot hands over with intent orders, the rule on bot.intent fires, and the conversation waits in its group', async () => {
    const { id } = await talk(['where is my order? agent']);
    await decided(id);
    const explained = await assertMatchesSpec(await gw.api(`/v1/conversations/${id}/routing`), 'getConversationRouting');
    const { decision } = explained;
    assert.deepEqual([decision.facts['bot.intent'], decision.facts['bot.language'], decision.facts['bot.skills']], ['orders', 'en', null]);
    assert.deepEqual(decision.sources.find((s: any) => s.name === 'bot'), { name: 'bot', status: 'ok' });
    assert.deepEqual(decision.outcomes.map((o: any) => [o.rule, o.outcome]), [['orders-intent', 'fired'], ['billing-intent', 'not_matched']]);
    assert.deepEqual(decision.outcomes[0].read, { 'bot.intent': 'orders' });
    assert.deepEqual([decision.group, decision.priority], [g('orders'), 10]);

    const state = await rig.stateOf(gw, id);
    assert.deepEqual([state.status, state.group], ['queued', g('orders')]);
    // The stream says what the bot found, as the OpenAPI event schema describes it.
    const events = await assertMatchesSpec(await gw.api(`/v1/conversations/${id}/events`), 'listConversationEvents');
    const queued = events.events.find((e: any) => e.type === 'conversation.queued');
    assert.deepEqual([queued.by, queued.data.reason, queued.data.group, queued.data.classification], [{ kind: 'bot', id: 'builtin' }, 'handover', g('front'), { intent: 'orders', language: 'en' }]);
    // And what it found, for the agent: at least why it handed over.
    assert.equal(queued.data.findings.reason, 'visitor_asked');
  });

  test('the bot classifies everything the visitor said before asking for a person', async () => {
    const { id } = await talk(['hi', 'my invoice shows the wrong amount', 'can I talk to a human']);
    const decision = await decided(id);
    assert.equal(decision.facts['bot.intent'], 'billing');
    assert.deepEqual(decision.outcomes.map((o: any) => [o.rule, o.outcome]), [['orders-intent', 'not_matched'], ['billing-intent', 'fired']]);
    assert.equal((await rig.stateOf(gw, id)).group, g('billing'));
  });

  test('nothing the bot did not find: a visitor who hands over itself brings no classification, and cannot send one', async () => {
    const { id, token } = await talk([]);
    const steer = await chat(gw, token, 'POST', `/v1/conversations/${id}/handover`, { classification: { intent: 'orders' } });
    assert.deepEqual([steer.status, steer.body.code], [400, 'VALIDATION_FAILED']);
    assert.equal((await rig.stateOf(gw, id)).status, 'bot', 'the refused handover changed nothing');
    assert.equal((await chat(gw, token, 'POST', `/v1/conversations/${id}/handover`, {})).status, 200);
    const decision = await decided(id);
    assert.equal(decision.facts['bot.intent'], null);
    assert.equal(decision.sources.some((s: any) => s.name === 'bot'), false);
    assert.deepEqual(decision.outcomes.map((o: any) => o.outcome), ['unknown', 'unknown']);
    assert.equal(decision.group, g('front'));
  });
});

interface OnKafka {
  readonly key: string;
  readonly event: { id: string; type: string; subject: string; data: { conversationId: string; seq: number; by: unknown; visibility: string; data: any } };
}

describe('routing decisions on Kafka', () => {
  test('an independent consumer of omnigate.conversations finds the conversation\'s routed decision (rules fired, facts and sources) and its offer, keyed by the conversation', async () => {
    const consumer: Consumer = new Kafka({ brokers: TEST_KAFKA_BROKERS, logLevel: logLevel.NOTHING }).consumer({ groupId: `dispatch-classified-${randomUUID()}` });
    const received: OnKafka[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: CONVERSATIONS_TOPIC, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void received.push({ key: message.key?.toString() ?? '', event: JSON.parse(message.value?.toString() ?? '{}') as OnKafka['event'] }) });

      const agentId = await rig.agentIn(gw, 'kafka-orders', [g('orders')]);
      const agent = await rig.online(gw, agentId);
      const { id } = await talk(['my parcel is late, agent please']);
      const offer = await rig.offerTo(agent, id);

      const of = (type: string) => received.find((r) => r.event.subject === id && r.event.type === type);
      const [routed, offered] = await waitFor('the routed and offered events of the conversation on Kafka', () => {
        const both = [of('conversation.routed'), of('conversation.offered')] as const;
        return both[0] !== undefined && both[1] !== undefined && both;
      }, { timeoutMs: 15_000, detail: () => received.filter((r) => r.event.subject === id).map((r) => r.event.type).join(', ') });

      for (const r of [routed!, offered!]) {
        assert.equal(r.key, id, `${r.event.type} is keyed by the conversation`);
        assert.deepEqual([r.event.data.conversationId, r.event.data.visibility, r.event.data.by], [id, 'internal', { kind: 'system', id: 'dispatch' }]);
      }
      // The decision on Kafka is the one the routing endpoint explains.
      const { decision } = routed!.event.data.data;
      assert.deepEqual(decision, (await rig.routingOf(gw, id)).decision);
      assert.deepEqual(decision.outcomes.filter((o: any) => o.outcome === 'fired').map((o: any) => [o.rule, o.read]), [['orders-intent', { 'bot.intent': 'orders' }]]);
      assert.equal(decision.facts['bot.intent'], 'orders');
      // Its facts with their sources: the widget's and the bot's known, the business data missing (an anonymous visitor) and said so.
      assert.deepEqual([decision.facts['widget.language'], decision.facts['bot.language'], decision.facts['customer.tier']], ['en', 'en', null]);
      assert.deepEqual(decision.sources, [
        { name: 'widget', status: 'ok' }, { name: 'bot', status: 'ok' },
        ...['customer', 'orders', 'tickets'].map((name) => ({ name, status: 'missing', reason: 'NO_CUSTOMER' })),
      ]);
      assert.deepEqual(decision.missing, ['customer', 'orders', 'tickets']);
      assert.equal(decision.group, g('orders'));
      assert.deepEqual([offered!.event.data.data.offerId, offered!.event.data.data.agentId], [offer.offerId, agentId]);
      // In the stream's order: routed before offered.
      assert.ok(routed!.event.data.seq < offered!.event.data.seq);
    } finally {
      await consumer.disconnect();
    }
  });
});
