import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CatalogueProduct } from '../nlu.types.ts';
import { loadBotData } from './bot-data.ts';
import { createUnderstand } from './understand.ts';

const DATA = fileURLToPath(new URL('../../../../config/bot/', import.meta.url));
const understand = createUnderstand(loadBotData(DATA));
const CATALOGUE: CatalogueProduct[] = [
  { sku: 'SKU-MN-04', name: '27" monitor' },
  { sku: 'SKU-DK-05', name: 'Docking station' },
  { sku: 'SKU-HD-03', name: 'Noise-cancelling headset' },
];
const read = (text: string, products: readonly CatalogueProduct[] = CATALOGUE) => understand(text, products);

test('the issue\'s order questions, English and Chinese, are order_status with the number', () => {
  for (const text of ['where is my order ORD-0001234', '我的订单ORD-0001234到哪了']) {
    const u = read(text);
    assert.equal(u.intent, 'order_status', text);
    assert.deepEqual(u.entities.orderIds, ['ORD-0001234'], text);
  }
  assert.equal(read('where is my order ORD-0001234').language, 'en');
  assert.equal(read('我的订单ORD-0001234到哪了').language, 'zh');
});

test('order numbers are normalised: case, width, spaces, 订单号, short numbers padded; a longer number is none', () => {
  const ids = (text: string) => read(text).entities.orderIds;
  assert.deepEqual(ids('ord 1234567 please'), ['ORD-1234567']);
  assert.deepEqual(ids('订单号1234567'), ['ORD-1234567']);
  assert.deepEqual(ids('订单号：0000318'), ['ORD-0000318']);
  assert.deepEqual(ids('ＯＲＤ－０００１２３４到了吗'), ['ORD-0001234']);
  assert.deepEqual(ids('track ord-1577'), ['ORD-0001577']);
  assert.deepEqual(ids('order number 0003001'), ['ORD-0003001']);
  assert.deepEqual(ids('ORD-0000002 and then ORD-0000001'), ['ORD-0000002', 'ORD-0000001']);
  assert.deepEqual(ids('my order number is 0001234'), ['ORD-0001234']);
  assert.deepEqual(ids(' 0001234 '), ['ORD-0001234'], 'seven digits alone answer "which order?"');
  assert.deepEqual(ids('I bought 2 for 1234567 yen'), [], 'seven digits inside a sentence are not an order number');
  assert.deepEqual(ids('ORD-12345678'), [], 'eight digits are no order number of ours');
  assert.deepEqual(ids('call me on 13812345678'), []);
});

test('emails are found and lower-cased', () => {
  assert.deepEqual(read('ORD-0000042, my email is Anna.Schmidt@Example.com').entities.emails, ['anna.schmidt@example.com']);
  assert.deepEqual(read('订单ORD-0000042，邮箱是 li.wei@example.cn').entities.emails, ['li.wei@example.cn']);
});

test('products by catalogue name, Chinese alias, nickname and a typo; a written-out SKU too', () => {
  const skus = (text: string, products?: readonly CatalogueProduct[]) => read(text, products).entities.skus;
  assert.deepEqual(skus('27寸显示器坏了'), ['SKU-MN-04']);
  assert.deepEqual(skus('where is the docking station'), ['SKU-DK-05']);
  assert.deepEqual(skus('my dock and my noise-cancelling headset'), ['SKU-DK-05', 'SKU-HD-03']);
  assert.deepEqual(skus('the moniter is broken'), ['SKU-MN-04']);
  assert.deepEqual(skus('扩展坞不能用'), ['SKU-DK-05']);
  assert.deepEqual(skus('is SKU-WC-07 in stock'), ['SKU-WC-07']);
});

test('an alias counts only for a SKU the catalogue lists, unless the catalogue is empty', () => {
  assert.deepEqual(read('the webcam is broken').entities.skus, [], 'SKU-WC-07 is not in this catalogue');
  assert.deepEqual(read('the webcam is broken', []).entities.skus, ['SKU-WC-07']);
});

test('handoff in both languages, alone or in a sentence', () => {
  for (const text of ['转人工', '人工客服', 'human', 'agent', 'I want to talk to a human', '我要找人工', '转人工 please']) {
    assert.equal(read(text).intent, 'handoff', text);
  }
});

test('typos one edit away on longer English words still read', () => {
  assert.equal(read('wher is my ordr ORD-0001234').intent, 'order_status');
  assert.equal(read('i want to retrun my order').intent, 'return');
  assert.equal(read('i want to make a complant').intent, 'complaint');
  const faq = read('warrenty period?');
  assert.equal(faq.intent, 'faq');
  assert.equal(faq.faqId, 'warranty');
});

test('mixed Chinese and English reads, and the language is the one carrying the message', () => {
  const u = read('我想return这个monitor');
  assert.equal(u.intent, 'return');
  assert.deepEqual(u.entities.skus, ['SKU-MN-04']);
  assert.equal(u.language, 'zh');
  assert.equal(read('转人工 please').language, 'zh');
  assert.equal(read('can I return the 显示器 please').language, 'en');
});

test('FAQ questions carry the entry id', () => {
  const cases: [string, string][] = [
    ['how long does shipping take?', 'shipping_time'], ['可以用支付宝付款吗', 'payment_methods'], ['what are your opening hours', 'opening_hours'],
    ['保修多久', 'warranty'], ['可以开发票吗', 'invoice'], ['can I change my delivery address', 'change_address'],
  ];
  for (const [text, id] of cases) {
    const u = read(text);
    assert.equal(u.intent, 'faq', text);
    assert.equal(u.faqId, id, text);
  }
});

test('a message it knows nothing of is none, sure of it; a clear one is confident', () => {
  const none = read('asdfgh qwerty');
  assert.equal(none.intent, 'none');
  assert.equal(none.confidence, 1);
  assert.equal(read('今天天气怎么样').intent, 'none');
  assert.ok(read('where is my order ORD-0001234').confidence >= 0.5);
});

test('understanding is pure: the same text and catalogue give the same reading', () => {
  assert.deepEqual(read('我的dock发货了没'), read('我的dock发货了没'));
});

test('small talk gives way to a topic: a greeting before a question is the question', () => {
  assert.equal(read('hi').intent, 'greeting');
  assert.equal(read('hi, where is my order?').intent, 'order_status');
  assert.equal(read('你好，我要退货').intent, 'return');
  assert.equal(read('谢谢').intent, 'thanks');
});

test('confidence is calibrated to the data\'s threshold: any reading but none is at least 0.5', () => {
  for (const text of ['ORD-0000123', 'when does my delivery come', '怎么申请refund', 'hi', 'thx', '我要投诉']) {
    const u = read(text);
    assert.notEqual(u.intent, 'none', text);
    assert.ok(u.confidence >= 0.5 && u.confidence <= 1, `${text}: ${u.confidence}`);
  }
});

test('a long word one edit from a term is not taken for it when it is a term itself (charge is not change)', () => {
  assert.equal(read('the headset doesnt charge').intent, 'complaint');
});

test('one word in common with an FAQ question is no FAQ: "what\'s your name" is not about the invoice\'s company name', () => {
  for (const text of ["what's your name", 'I need help', 'where are you located']) assert.equal(read(text).intent, 'none', text);
});
