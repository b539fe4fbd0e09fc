import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Request } from 'express';
import { createKeyAuthenticator } from './authenticator.ts';

const OLD = 'shop-old-key-0123456789';
const NEW = 'shop-new-key-0123456789';
const OPS = 'ops-admin-key-0123456789';
const authenticator = createKeyAuthenticator({ apiKeys: [{ name: 'shop', key: OLD }, { name: 'shop', key: NEW }], adminKeys: [{ name: 'ops', key: OPS }] });
// Only the header lookup of a request matters here.
const request = (headers: Record<string, string>) => ({ get: (name: string) => headers[name.toLowerCase()] }) as unknown as Request;

test('resolves both keys of a rotated name to the same principal, from X-Api-Key or Bearer', () => {
  const expected = { outcome: 'ok', principal: { kind: 'service', name: 'shop', roles: ['api'] } };
  assert.deepEqual(authenticator.authenticate(request({ 'x-api-key': OLD })), expected);
  assert.deepEqual(authenticator.authenticate(request({ authorization: `Bearer ${NEW}` })), expected);
});

test('gives an admin key the admin role only, and tells a missing key from an unknown one', () => {
  assert.deepEqual(authenticator.authenticate(request({ 'x-api-key': OPS })), { outcome: 'ok', principal: { kind: 'service', name: 'ops', roles: ['admin'] } });
  assert.deepEqual(authenticator.authenticate(request({})), { outcome: 'none' });
  assert.deepEqual(authenticator.authenticate(request({ 'x-api-key': 'not-a-known-key-at-all' })), { outcome: 'invalid' });
});
