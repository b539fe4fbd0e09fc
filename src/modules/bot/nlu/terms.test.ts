import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileTerm } from './terms.ts';
import { languageOf, normalise, prepare } from './text.ts';

const options = { fuzzyMinLength: 5, unalignedFactor: 0.8, vocabulary: new Set(['charge']) };
const factor = (term: string, text: string) => compileTerm(term, options).match(prepare(text))?.factor;

test('normalising folds width and case and drops apostrophes', () => {
  assert.equal(normalise('ＯＲＤ－０００１２３４：Where’s  it?'), 'ord-0001234:wheres it?');
});

test('words come from Intl.Segmenter, Latin runs cut at punctuation', () => {
  assert.deepEqual(prepare('我的usb-c线坏了').tokens.map((t) => t.word), ['我的', 'usb', 'c', '线', '坏', '了']);
});

test('a Chinese term on the segmenter\'s word boundaries counts fully, across them partly', () => {
  assert.equal(factor('发票', '发票抬头写公司名'), 1);
  assert.equal(factor('发票', '可以开发票吗'), 0.8, 'the segmenter cuts 开发|票');
  assert.equal(factor('发票', '可以开收据吗'), undefined);
});

test('English terms: phrases in a row, prefixes, one typo in a long word unless it is a known word', () => {
  assert.equal(factor('where is my order', 'so where is my order now'), 1);
  assert.equal(factor('where is my order', 'where is the order'), undefined);
  assert.equal(factor('ship*', 'has it shipped'), 1);
  assert.equal(factor('return', 'i want to retrun it'), 1);
  assert.equal(factor('change', 'it does not charge'), undefined, 'charge is a word of its own');
  assert.equal(factor('order', 'ordr'), 1);
  assert.equal(factor('help', 'hepl'), undefined, 'short words must be exact');
});

test('the language is Chinese when Han characters are at least as many as Latin words', () => {
  assert.equal(languageOf('转人工 please'), 'zh');
  assert.equal(languageOf('can i return the 显示器'), 'en');
  assert.equal(languageOf('where is my order'), 'en');
});
