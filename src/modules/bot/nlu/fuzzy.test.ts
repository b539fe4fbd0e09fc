import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withinOneEdit } from './fuzzy.ts';

test('one insertion, deletion, substitution or swap of neighbours is within one edit', () => {
  assert.ok(withinOneEdit('order', 'order'));
  assert.ok(withinOneEdit('order', 'ordr'));
  assert.ok(withinOneEdit('order', 'orderr'));
  assert.ok(withinOneEdit('warranty', 'warrenty'));
  assert.ok(withinOneEdit('return', 'retrun'));
  assert.ok(withinOneEdit('thanks', 'thnaks'));
});

test('two edits, or a swap of letters apart, are not', () => {
  assert.ok(!withinOneEdit('return', 'rteurn1'));
  assert.ok(!withinOneEdit('order', 'odrre'));
  assert.ok(!withinOneEdit('invoice', 'ivnoiec'));
  assert.ok(!withinOneEdit('agent', 'urgent'));
  assert.ok(!withinOneEdit('ab', 'abcd'));
});
