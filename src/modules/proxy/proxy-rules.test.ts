import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isAllowed, refusalOf } from './proxy-rules.ts';

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

describe('rules that name JSON-RPC methods', () => {
  const rpc = [{ methods: ['POST'], path: '/rpc', rpcMethods: ['tickets.get', 'tickets.search'] }];
  const call = (body: string) => refusalOf(rpc, { method: 'POST', path: '/rpc', body: Buffer.from(body) });

  test('let through a call or a batch whose every method the rule names', () => {
    assert.equal(call('{"jsonrpc":"2.0","id":1,"method":"tickets.get","params":{"ticketId":"TCK-1"}}'), undefined);
    assert.equal(call('[{"jsonrpc":"2.0","id":1,"method":"tickets.get"},{"jsonrpc":"2.0","method":"tickets.search"}]'), undefined);
  });

  test('refuse a method the rule does not name, alone or anywhere in a batch', () => {
    assert.match(String(call('{"jsonrpc":"2.0","id":1,"method":"tickets.update","params":{}}')), /tickets\.update/);
    assert.match(String(call('[{"id":1,"method":"tickets.get"},{"id":2,"method":"tickets.update"}]')), /tickets\.update/);
    assert.notEqual(call('{"id":1,"method":"Tickets.Get"}'), undefined);
  });

  test('refuse a body naming "method" twice, whichever copy a parser would keep', () => {
    assert.match(String(call('{"jsonrpc":"2.0","id":1,"method":"tickets.get","method":"tickets.update"}')), /duplicate key "method"/);
    assert.notEqual(call('{"jsonrpc":"2.0","id":1,"method":"tickets.update","method":"tickets.get"}'), undefined);
  });

  test('refuse what is not a checkable call: no body, bad JSON, no method, an empty batch, a scalar', () => {
    assert.notEqual(refusalOf(rpc, { method: 'POST', path: '/rpc', body: undefined }), undefined);
    for (const body of ['{"method":"tickets.get"', '{"id":1}', '{"method":7}', '[]', '[1]', '"tickets.get"', 'null']) {
      assert.notEqual(call(body), undefined, body);
    }
  });

  test('still check the method and path first, and leave rules without rpcMethods body-blind', () => {
    assert.notEqual(refusalOf(rpc, { method: 'PUT', path: '/rpc', body: Buffer.from('{"method":"tickets.get"}') }), undefined);
    assert.notEqual(refusalOf(rpc, { method: 'POST', path: '/rpc/x', body: Buffer.from('{"method":"tickets.get"}') }), undefined);
    assert.equal(refusalOf(rules, { method: 'POST', path: '/files/a', body: Buffer.from('not json') }), undefined);
  });
});
