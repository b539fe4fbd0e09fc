import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAllowed } from './proxy-rules.ts';

const rules = [
  { methods: ['GET'], path: '/api/orders/*' },
  { methods: ['GET'], path: '/api/customers/*/' },
  { methods: ['POST'], path: '/files/**' },
];

test('opens exactly the method and path a rule names, * being one segment', () => {
  assert.equal(isAllowed(rules, 'GET', '/api/orders/ORD-1'), true);
  assert.equal(isAllowed(rules, 'get', '/api/orders/ORD-1'), true);
  assert.equal(isAllowed(rules, 'DELETE', '/api/orders/ORD-1'), false);
  assert.equal(isAllowed(rules, 'GET', '/api/orders/ORD-1/lines'), false);
  assert.equal(isAllowed(rules, 'GET', '/api/orders/'), false);
  assert.equal(isAllowed(rules, 'GET', '/api/customers/7/'), true);
  assert.equal(isAllowed(rules, 'GET', '/api/customers/7'), false);
  assert.equal(isAllowed(rules, 'POST', '/files/a/b/c'), true);
});

test('refuses dot segments and encoded slashes, raw or percent-encoded', () => {
  assert.equal(isAllowed(rules, 'GET', '/api/orders/..'), false);
  assert.equal(isAllowed(rules, 'GET', '/api/orders/%2e%2e'), false);
  assert.equal(isAllowed(rules, 'GET', '/api/orders/a%2Fb'), false);
  assert.equal(isAllowed(rules, 'POST', '/files/../../etc/passwd'), false);
  assert.equal(isAllowed(rules, 'GET', '/api/orders/%zz'), false);
});

test('treats regex characters in rule paths literally', () => {
  assert.equal(isAllowed([{ methods: ['GET'], path: '/v1.0/x' }], 'GET', '/v1a0/x'), false);
  assert.equal(isAllowed([{ methods: ['GET'], path: '/v1.0/x' }], 'GET', '/v1.0/x'), true);
});
