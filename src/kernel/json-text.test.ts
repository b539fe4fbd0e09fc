import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonTextOf, parseKeepingText } from './json-text.ts';

test('a parsed value gives back the very text it came from; another value is serialised', () => {
  const text = '{"id":"ORD-1", "total": {"amount":"1.50","currency":"EUR"}}';
  const value = parseKeepingText(text);
  assert.deepEqual(value, { id: 'ORD-1', total: { amount: '1.50', currency: 'EUR' } });
  assert.equal(jsonTextOf(value), text);
  assert.equal(jsonTextOf({ a: 1 }), '{"a":1}');
  assert.equal(parseKeepingText('3'), 3);
  assert.equal(jsonTextOf(3), '3');
});
