import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classify, createRuleBot, type BotInput } from './bot.ts';
import { initialState } from './conversation.decider.ts';

const said = (text: string, earlier: readonly string[] = [], language?: string): BotInput => ({
  conversationId: 'c-1',
  state: { ...initialState(), status: 'bot', ...(language === undefined ? {} : { language }) },
  message: { type: 'conversation.message_sent', seq: 9, id: 'e-9', at: '2025-03-01T10:00:00.000Z', by: { kind: 'visitor', id: 'v-1' }, visibility: 'public', data: { messageId: 'm-9', author: { kind: 'visitor', id: 'v-1' }, visibility: 'public', contentType: 'text', text } },
  earlier: async () => earlier,
});

describe('the built-in bot\'s classification', () => {
  test('keyword intents: orders, billing, account, else other', () => {
    assert.equal(classify(['where is my order? agent'], undefined).intent, 'orders');
    assert.equal(classify(['my parcel never arrived'], undefined).intent, 'orders');
    assert.equal(classify(['I was charged twice, I need a refund'], undefined).intent, 'billing');
    assert.equal(classify(['I forgot my password'], undefined).intent, 'account');
    assert.equal(classify(['我的订单在哪里'], undefined).intent, 'orders');
    assert.equal(classify(['hello there'], undefined).intent, 'other');
    assert.equal(classify([], undefined).intent, 'other');
  });

  test('the latest text that names an intent wins', () => {
    assert.equal(classify(['my invoice is wrong', 'and where is my order?', 'thanks'], undefined).intent, 'orders');
    assert.equal(classify(['where is my order?', 'actually it is the invoice'], undefined).intent, 'billing');
  });

  test('the language: the conversation\'s own, else zh for Han script, else none (no guess)', () => {
    assert.deepEqual(classify(['where is my order'], 'de'), { intent: 'orders', language: 'de' });
    assert.deepEqual(classify(['转人工'], undefined), { intent: 'other', language: 'zh' });
    assert.deepEqual(classify(['where is my order'], undefined), { intent: 'orders' });
  });
});

describe('the built-in rule bot', () => {
  test('hands over on "agent" with a note and its classification of everything the visitor said', async () => {
    const actions = await createRuleBot().reply(said('agent please', ['my password does not work'], 'en'));
    assert.deepEqual(actions.map((a) => a.type), ['note', 'handover']);
    assert.deepEqual(actions[1], { type: 'handover', reason: 'visitor_asked', classification: { intent: 'account', language: 'en' } });
  });

  test('answers anything else without reading the earlier messages', async () => {
    let read = false;
    const actions = await createRuleBot().reply({ ...said('hello'), earlier: async () => { read = true; return []; } });
    assert.deepEqual(actions.map((a) => a.type), ['send']);
    assert.equal(read, false);
  });
});
