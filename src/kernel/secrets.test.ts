import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSecrets, secretValuesOf } from './secrets.ts';

test('scrubs a known secret raw, JSON-escaped, base64, base64url and URL-encoded', () => {
  const secrets = createSecrets();
  const secret = 'p4ss/w"rd+?~~~';
  secrets.add(secret);
  const line = JSON.stringify({ a: secret, b: Buffer.from(secret).toString('base64'), c: Buffer.from(secret).toString('base64url'), d: `x?t=${encodeURIComponent(secret)}` });
  const scrubbed = secrets.scrub(line);
  assert.deepEqual(JSON.parse(scrubbed), { a: '[redacted]', b: '[redacted]=', c: '[redacted]', d: 'x?t=[redacted]' });
});

test('leaves text alone when it holds no secret, and ignores values too short to scrub by value', () => {
  const secrets = createSecrets();
  assert.equal(secrets.scrub('nothing known yet'), 'nothing known yet');
  secrets.add('abc', undefined, 42, 'long-enough-secret');
  assert.equal(secrets.scrub('abc and long-enough-secret'), 'abc and [redacted]');
});

test('finds the x-secret fields of a config schema at any depth', () => {
  const schema = { type: 'object', properties: { url: { type: 'string' }, token: { type: 'string', 'x-secret': true }, oauth: { type: 'object', properties: { clientSecret: { 'x-secret': true }, clientId: {} } } } };
  assert.deepEqual(secretValuesOf(schema, { url: 'u', token: 't', oauth: { clientId: 'i', clientSecret: 's' } }), ['t', 's']);
  assert.deepEqual(secretValuesOf(schema, { url: 'u' }), [undefined]);
});
