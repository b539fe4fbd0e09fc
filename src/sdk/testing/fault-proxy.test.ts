import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, test } from 'node:test';
import { pino } from 'pino';
import { isAppError } from '../../kernel/errors.ts';
import { createHttpClient, DeadlineExceeded } from '../http-client.ts';
import { createPools } from '../transport.ts';
import { startFaultProxy, type FaultProxy } from 'omnigate/sdk/testing';
import { waitFor } from '../../../test/support/wait.ts';

// A loopback server in this process is the backend, under a context path like a Java app server's.
const CONTEXT_PATH = '/petclinic/api';
const log = pino({ level: 'silent' });
const seen: { method: string; url: string; host: string; body: string }[] = [];
const backend = createServer((req: IncomingMessage, res: ServerResponse) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', host: req.headers.host ?? '', body });
    res.writeHead(200, { 'content-type': 'application/json', 'x-backend': 'yes' }).end(JSON.stringify({ id: '6', path: req.url, echo: body }));
  });
});
let target = '';
let proxy: FaultProxy;
before(async () => {
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  target = `http://127.0.0.1:${(backend.address() as AddressInfo).port}${CONTEXT_PATH}`;
  proxy = await startFaultProxy({ target });
});
afterEach(() => {
  proxy.clear();
  seen.length = 0;
});
after(async () => {
  await proxy.close();
  backend.closeAllConnections();
  await new Promise<void>((resolve) => backend.close(() => resolve()));
});

/** Settles a fetch into what happened, never throwing. */
async function outcome(promise: Promise<Response>): Promise<{ status?: number; body?: string; error?: unknown }> {
  try {
    const res = await promise;
    return { status: res.status, body: await res.text() };
  } catch (error) {
    return { error };
  }
}

test('keeps the target context path in its url and forwards method, path, query, body and headers both ways', async () => {
  assert.match(proxy.url, new RegExp(`^http://127\\.0\\.0\\.1:\\d+${CONTEXT_PATH}$`));
  const res = await fetch(`${proxy.url}/owners/6?page=2`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"Ann"}' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-backend'), 'yes');
  assert.deepEqual(await res.json(), { id: '6', path: `${CONTEXT_PATH}/owners/6?page=2`, echo: '{"name":"Ann"}' });
  assert.deepEqual(seen.map((s) => [s.method, s.url, s.host]), [['POST', `${CONTEXT_PATH}/owners/6?page=2`, new URL(target).host]]);
  assert.equal(proxy.stats().forwarded, 1);
});

test('down: the connection is closed without a reply, and the backend never sees the request', async () => {
  proxy.setFault({ kind: 'down' });
  const result = await outcome(fetch(`${proxy.url}/owners/6`));
  assert.ok(result.error instanceof TypeError, `expected a network error, got status ${result.status}`);
  assert.equal(seen.length, 0);
  assert.equal(proxy.stats().faulted.down, 1);
});

test('latency: the request reaches the backend only after the delay, then answers normally', async () => {
  proxy.setFault({ kind: 'latency', latencyMs: 300 });
  const pending = outcome(fetch(`${proxy.url}/owners/6`));
  await waitFor('the request received', () => proxy.stats().requests > 0 && proxy.stats().faulted.latency === 1);
  assert.equal(seen.length, 0, 'forwarded before the delay');
  assert.equal((await pending).status, 200);
  assert.equal(seen.length, 1);
});

test('hang: holds the request with nothing sent until the fault is cleared, then closes it', async () => {
  proxy.setFault({ kind: 'hang' });
  const pending = outcome(fetch(`${proxy.url}/owners/6`));
  await waitFor('the request held', () => proxy.stats().hanging === 1);
  assert.equal(seen.length, 0);
  proxy.clear();
  const result = await pending;
  assert.ok(result.error instanceof TypeError, `a held request must not be answered, got status ${result.status}`);
  assert.equal(proxy.stats().hanging, 0);
});

test('error: answers the status asked for with a body, without calling the backend', async () => {
  proxy.setFault({ kind: 'error' });
  assert.equal((await outcome(fetch(`${proxy.url}/owners/6`))).status, 503);
  proxy.setFault({ kind: 'error', status: 500, body: '{"message":"boom"}' });
  assert.deepEqual(await outcome(fetch(`${proxy.url}/owners/6`)), { status: 500, body: '{"message":"boom"}' });
  assert.equal(seen.length, 0);
});

test('garbage: answers 200 with a body that is not JSON, or the contract-breaking body given', async () => {
  proxy.setFault({ kind: 'garbage' });
  const result = await outcome(fetch(`${proxy.url}/owners/6`));
  assert.equal(result.status, 200);
  assert.throws(() => JSON.parse(result.body ?? ''));
  proxy.setFault({ kind: 'garbage', body: '{"id":6,"lastName":[]}' });
  assert.deepEqual(await outcome(fetch(`${proxy.url}/owners/6`)), { status: 200, body: '{"id":6,"lastName":[]}' });
});

test('pathPattern: only matching requests are faulted, the others are forwarded', async () => {
  proxy.setFault({ kind: 'error', pathPattern: '/owners/' });
  assert.equal((await outcome(fetch(`${proxy.url}/owners/6`))).status, 503);
  assert.equal((await outcome(fetch(`${proxy.url}/health`))).status, 200);
  assert.deepEqual(seen.map((s) => s.url), [`${CONTEXT_PATH}/health`]);
});

test('refuses a non-loopback host, an unknown kind and out-of-range settings', async () => {
  await assert.rejects(startFaultProxy({ target, host: '0.0.0.0' }), /loopback only/);
  assert.throws(() => proxy.setFault({ kind: 'slow' as never }), /unknown fault kind "slow"/);
  assert.throws(() => proxy.setFault({ kind: 'error', status: 200 }), /400\.\.599/);
  assert.throws(() => proxy.setFault({ kind: 'latency', latencyMs: -1 }), /latencyMs/);
});

test('the SDK http client through the proxy sees the canonical errors: UPSTREAM_UNAVAILABLE, UPSTREAM_TIMEOUT, CONNECTOR_BAD_DATA', async () => {
  const pools = createPools();
  const codeOf = async (signal?: AbortSignal): Promise<string> => {
    const http = createHttpClient({ baseUrl: proxy.url, log, pools, ...(signal ? { signal } : {}) });
    try {
      await http.request({ path: '/owners/6' });
      return 'answered';
    } catch (err) {
      return isAppError(err) ? err.code : String(err);
    }
  };
  try {
    proxy.setFault({ kind: 'down' });
    assert.equal(await codeOf(), 'UPSTREAM_UNAVAILABLE');
    proxy.setFault({ kind: 'garbage' });
    assert.equal(await codeOf(), 'CONNECTOR_BAD_DATA');
    proxy.setFault({ kind: 'hang' });
    const deadline = new AbortController();
    const pending = codeOf(deadline.signal);
    await waitFor('the request held', () => proxy.stats().hanging === 1);
    deadline.abort(new DeadlineExceeded(100));
    assert.equal(await pending, 'UPSTREAM_TIMEOUT');
  } finally {
    pools.destroy();
  }
});

test('close() ends held requests and every connection, to clients and to the backend, and stops listening', async () => {
  const own = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  own.keepAliveTimeout = 60_000; // so only the proxy can close the connection
  await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
  const connections = (): Promise<number> => new Promise((resolve, reject) => own.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  const ownProxy = await startFaultProxy({ target: `http://127.0.0.1:${(own.address() as AddressInfo).port}` });
  try {
    assert.equal((await outcome(fetch(`${ownProxy.url}/kept-alive`))).status, 200);
    assert.equal(await connections(), 1, 'the proxy keeps its connection to the backend alive');
    ownProxy.setFault({ kind: 'hang' });
    const pending = outcome(fetch(`${ownProxy.url}/owners/6`));
    await waitFor('the request held', () => ownProxy.stats().hanging === 1);
    await ownProxy.close();
    assert.ok((await pending).error instanceof TypeError);
    await waitFor('the backend connection closed', async () => (await connections()) === 0);
    assert.ok((await outcome(fetch(`${ownProxy.url}/owners/6`))).error instanceof TypeError, 'still listening after close()');
  } finally {
    await new Promise<void>((resolve) => own.close(() => resolve()));
  }
});
