import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { startTrace } from '../kernel/trace.ts';
import { oauth2ClientCredentials } from './auth/oauth2-client-credentials.ts';
import { isAppError } from '../kernel/errors.ts';
import { createHttpClient, DeadlineExceeded } from './http-client.ts';

// A loopback server in this process stands in for a backend: its handler is set per test.
const log = pino({ level: 'silent' });
let handle: (req: IncomingMessage, body: string, res: ServerResponse) => void = (_req, _body, res) => res.end();
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => handle(req, body, res));
});
let baseUrl = '';
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));
const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

test('sends JSON under the base URL with the trace continued, and answers status and parsed body without throwing on 4xx', async () => {
  let seen: { url?: string; traceparent?: string; body?: string } = {};
  handle = (req, body, res) => {
    seen = { url: req.url ?? '', traceparent: String(req.headers.traceparent), body };
    json(res, 404, { detail: 'Not found.' });
  };
  const trace = startTrace('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'req-1');
  const reply = await createHttpClient({ baseUrl, log, trace }).request({ method: 'POST', path: '/orders', query: { page: 2, skip: undefined }, json: { id: 'o-1' } });
  assert.equal(reply.status, 404);
  assert.deepEqual(reply.body, { detail: 'Not found.' });
  assert.equal(seen.url, '/api/orders?page=2');
  assert.equal(seen.body, '{"id":"o-1"}');
  assert.match(seen.traceparent ?? '', /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
});

test('OAuth2: concurrent calls share one token fetch; a 401 drops the token and the call goes through once with a fresh one', async () => {
  let issued = 0;
  let valid = '';
  handle = (req, _body, res) => {
    if (req.url === '/api/oauth/token') {
      valid = `t${++issued}`;
      return json(res, 200, { access_token: valid, expires_in: 3600 });
    }
    json(res, req.headers.authorization === `Bearer ${valid}` ? 200 : 401, { ok: true });
  };
  const auth = oauth2ClientCredentials({ http: createHttpClient({ baseUrl, log }), tokenPath: '/oauth/token', clientId: 'c', clientSecret: 's' });
  const http = createHttpClient({ baseUrl, log, authenticator: auth });
  const replies = await Promise.all([1, 2, 3].map(() => http.request({ path: '/orders/1' })));
  assert.deepEqual(replies.map((r) => r.status), [200, 200, 200]);
  assert.equal(auth.fetches, 1);
  valid = 'revoked';
  assert.equal((await http.request({ path: '/orders/1' })).status, 200);
  assert.equal(auth.fetches, 2);
});

test('a call past its deadline throws UPSTREAM_TIMEOUT; a body that is not JSON throws CONNECTOR_BAD_DATA', async () => {
  handle = (req, _body, res) => (req.url === '/api/slow' ? undefined : res.writeHead(200).end('<html>'));
  const deadline = new AbortController();
  const slow = createHttpClient({ baseUrl, log, signal: deadline.signal }).request({ path: '/slow' });
  deadline.abort(new DeadlineExceeded(10));
  await assert.rejects(slow, (err: unknown) => isAppError(err) && err.code === 'UPSTREAM_TIMEOUT');
  await assert.rejects(createHttpClient({ baseUrl, log }).request({ path: '/html' }), (err: unknown) => isAppError(err) && err.code === 'CONNECTOR_BAD_DATA');
  server.closeAllConnections();
});
