import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { createHttpClient } from '../http-client.ts';
import { noAuth } from '../index.ts';

// A loopback backend without auth: it records what each request carried.
const seen: IncomingMessage['headers'][] = [];
const server = createServer((req, res) => {
  seen.push(req.headers);
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
});
let baseUrl = '';
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('noAuth, exported by the SDK, sends requests without any credential and asks for no retry after a 401', async () => {
  const authenticator = noAuth();
  const reply = await createHttpClient({ baseUrl, log: pino({ level: 'silent' }), authenticator }).request({ method: 'GET', path: '/owners/6' });
  assert.equal(reply.status, 200);
  const headers = seen.at(-1) ?? {};
  assert.equal(headers.authorization, undefined);
  assert.equal(Object.keys(headers).some((h) => /api-key|signature|token/i.test(h)), false, JSON.stringify(headers));
  assert.equal(authenticator.invalidate?.({ method: 'GET', url: `${baseUrl}/owners/6`, headers: {} } as never) ?? false, false);
});
