import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forwardedHeaders } from './forward.ts';

test('sends the checked buffer\'s length as the only framing, whatever framing the client used', () => {
  const body = Buffer.from('{"method":"tickets.get"}');
  const headers = forwardedHeaders({ 'transfer-encoding': 'chunked', 'content-length': '999', 'content-encoding': 'gzip', 'content-type': 'application/json' }, {}, body, 'POST');
  assert.deepEqual(headers, { 'content-type': 'application/json', 'content-length': String(body.length) });
  assert.equal(forwardedHeaders({}, {}, undefined, 'GET')['content-length'], undefined);
  assert.equal(forwardedHeaders({}, {}, undefined, 'POST')['content-length'], '0');
});

test('drops method and path overrides, gateway credentials and hop-by-hop headers, and adds the connector\'s', () => {
  const headers = forwardedHeaders(
    {
      'x-http-method-override': 'DELETE', 'x-http-method': 'DELETE', 'x-method-override': 'DELETE', 'x-original-method': 'DELETE',
      'x-original-url': '/_admin/faults', 'x-rewrite-url': '/_admin/faults',
      'x-api-key': 'k', authorization: 'Bearer gateway', cookie: 'a=b', host: 'gateway',
      connection: 'keep-alive, x-hop', 'x-hop': '1', te: 'trailers', 'accept-language': 'de',
    },
    { authorization: 'Token backend', traceparent: '00-a-b-01' },
    undefined,
    'GET',
  );
  assert.deepEqual(headers, { 'accept-language': 'de', authorization: 'Token backend', traceparent: '00-a-b-01' });
});
