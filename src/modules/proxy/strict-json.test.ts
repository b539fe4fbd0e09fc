import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStrictJson } from './strict-json.ts';

const bytes = (text: string) => Buffer.from(text, 'utf8');

test('parses JSON as JSON.parse does when every object has distinct keys', () => {
  const text = '{"a":[1,{"b":"x","c":null}],"d":{"e":true},"f":"\\"}\\\\"}';
  assert.deepEqual(parseStrictJson(bytes(text)), JSON.parse(text));
  assert.deepEqual(parseStrictJson(bytes(' [ {"a":1}, {"a":2} ] ')), [{ a: 1 }, { a: 2 }]);
});

test('refuses a key given twice in one object, at any depth and however it is escaped', () => {
  assert.throws(() => parseStrictJson(bytes('{"method":"tickets.get","method":"tickets.update"}')), /duplicate key "method"/);
  assert.throws(() => parseStrictJson(bytes('{"method":"tickets.get","m\\u0065thod":"tickets.update"}')), /duplicate key "method"/);
  assert.throws(() => parseStrictJson(bytes('[{"params":{"id":1,"id":2}}]')), /duplicate key "id"/);
  // The same key in sibling objects is fine.
  assert.deepEqual(parseStrictJson(bytes('[{"id":1},{"id":2}]')), [{ id: 1 }, { id: 2 }]);
});

test('refuses bytes that are not strict UTF-8 JSON: a byte order mark, broken UTF-8, bad syntax', () => {
  assert.throws(() => parseStrictJson(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes('{}')])));
  assert.throws(() => parseStrictJson(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), /UTF-8/);
  assert.throws(() => parseStrictJson(bytes('{"a":1,}')));
  assert.throws(() => parseStrictJson(bytes('')));
});
