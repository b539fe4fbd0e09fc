import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classify } from './classify.ts';

describe('classify: routing\'s bot.* facts', () => {
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
