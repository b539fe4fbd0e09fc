import assert from 'node:assert/strict';
import { rmSync, symlinkSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyConnector, scratchDir, setVersion } from '../support/connector-packages.ts';
import { API_KEY, backendAdmin, ROOT_DIR, setFault, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { waitFor } from '../support/wait.ts';

const ADMIN_KEY = 'admin-key-proxy-0123456789';

/** A JSON-RPC call through the proxy to the tickets backend. */
const rpc = (gateway: TestGateway, body: string, headers: Record<string, string> = {}) =>
  gateway.api('/v1/proxy/tickets/rpc', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

/** What the tickets backend received and changed. */
const ticketsBackend = async () => {
  const { requests, ticketsUpdated } = await backendAdmin<{ requests: number; ticketsUpdated: number }>('tickets', 'stats');
  return { requests, ticketsUpdated };
};

let gw: TestGateway;
before(async () => {
  gw = await startTestGateway();
});
after(() => gw.stop());

describe('the pass-through proxy', () => {
  test('passes an allowed GET to the orders backend with the connector\'s bearer token injected', async () => {
    const res = await gw.api('/v1/proxy/orders/api/orders/ORD-0000001');
    assert.equal(res.status, 200);
    const raw = (await res.json()) as { orderId: string; totalAmountMinor: number };
    assert.equal(raw.orderId, 'ORD-0000001');
    assert.equal(typeof raw.totalAmountMinor, 'number', 'the backend\'s own shape, untouched');
  });

  test('keeps the query string and passes DRF-style trailing slashes to the CRM with its token', async () => {
    const res = await gw.api('/v1/proxy/crm/api/customers/?page_size=2');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { count: number; results: unknown[] };
    assert.equal(body.results.length, 2);
  });

  test('signs a JSON-RPC call to the tickets backend', async () => {
    const res = await gw.api('/v1/proxy/tickets/rpc', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tickets.get', params: { ticketId: 'TCK-100002' } }),
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { result: { ticketId: string } }).result.ticketId, 'TCK-100002');
  });

  test('refuses paths the connector does not open, and never reaches the backend for them', async () => {
    const before = (await backendAdmin<{ requests: number }>('orders', 'stats')).requests;
    for (const path of ['/v1/proxy/orders/oauth/token', '/v1/proxy/orders/_admin/faults', '/v1/proxy/orders/api/orders/ORD-1/../../_admin/stats']) {
      const res = await gw.api(path);
      assert.equal(res.status, 403, path);
      assert.equal(((await res.json()) as { code: string }).code, 'PROXY_PATH_FORBIDDEN');
    }
    const del = await gw.api('/v1/proxy/orders/api/orders/ORD-0000001', { method: 'DELETE' });
    assert.equal(del.status, 403);
    assert.equal((await backendAdmin<{ requests: number }>('orders', 'stats')).requests, before);
  });

  test('answers 404 for a system no connector reaches', async () => {
    const res = await gw.api('/v1/proxy/billing/anything');
    assert.equal(res.status, 404);
  });

  test('needs a key like every other endpoint', async () => {
    assert.equal((await fetch(`${gw.url}/v1/proxy/orders/api/orders/ORD-0000001`)).status, 401);
  });

  test('refuses a JSON-RPC method the manifest does not open, and the ticket stays as it was', async () => {
    const before = await ticketsBackend();
    const res = await rpc(gw, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tickets.update', params: { ticketId: 'TCK-100002', status: 'closed' } }));
    assert.equal(res.status, 403);
    assert.match(String(res.headers.get('content-type')), /application\/problem\+json/);
    const problem = (await res.json()) as { code: string; detail: string };
    assert.equal(problem.code, 'PROXY_PATH_FORBIDDEN');
    assert.match(problem.detail, /tickets\.update/);
    assert.deepEqual(await ticketsBackend(), before, 'the backend saw nothing');
    const read = await rpc(gw, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tickets.get', params: { ticketId: 'TCK-100002' } }));
    assert.notEqual(((await read.json()) as { result: { status: string } }).result.status, 'closed');
  });

  test('refuses a batch hiding a write, and a body naming "method" twice, without reaching the backend', async () => {
    const before = await ticketsBackend();
    for (const body of [
      '[{"jsonrpc":"2.0","id":1,"method":"tickets.get","params":{"ticketId":"TCK-100002"}},{"jsonrpc":"2.0","id":2,"method":"tickets.update","params":{"ticketId":"TCK-100002","status":"closed"}}]',
      '{"jsonrpc":"2.0","id":1,"method":"tickets.get","method":"tickets.update","params":{"ticketId":"TCK-100002","status":"closed"}}',
      '{"jsonrpc":"2.0","id":1,"method":"tickets.update","method":"tickets.get","params":{"ticketId":"TCK-100002","status":"closed"}}',
    ]) {
      const res = await rpc(gw, body);
      assert.equal(res.status, 403, body);
      assert.equal(((await res.json()) as { code: string }).code, 'PROXY_PATH_FORBIDDEN');
    }
    assert.deepEqual(await ticketsBackend(), before);
  });

  test('forwards a chunked request with exactly one framing header, so the backend accepts it', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tickets.get', params: { ticketId: 'TCK-100002' } });
    const reply = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${gw.url}/v1/proxy/tickets/rpc`, { method: 'POST', headers: { 'x-api-key': API_KEY, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      req.end(body.slice(10));
    });
    assert.equal(reply.status, 200, reply.text);
    assert.equal((JSON.parse(reply.text) as { result: { ticketId: string } }).result.ticketId, 'TCK-100002');
  });

});

describe('what the proxy sends on', () => {
  // A recording server stands in for the CRM and the tickets backend: these tests are about what crosses the wire.
  const seen: { headers: IncomingHttpHeaders; body: Buffer }[] = [];
  const recorder = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.setHeader('content-type', 'application/json');
      res.end('{"count":0,"next":null,"previous":null,"results":[]}');
    });
  });
  let other: TestGateway;
  before(async () => {
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
    const recorderUrl = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
    other = await startTestGateway({ OMNIGATE_CONNECTOR_CRM_PYTHON_BASE_URL: recorderUrl, OMNIGATE_CONNECTOR_TICKETS_NODE_BASE_URL: recorderUrl });
  });
  after(async () => {
    await other.stop();
    recorder.close();
  });

  test("replaces the client's credentials with the connector's, and never forwards the gateway key", async () => {
    const res = await other.api('/v1/proxy/crm/api/customers/1/', { headers: { cookie: 'session=abc', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });
    assert.equal(res.status, 200);
    const headers = seen.at(-1)?.headers ?? {};
    assert.equal(headers.authorization, 'Token crm-dev-token');
    assert.equal(headers['x-api-key'], undefined);
    assert.equal(headers.cookie, undefined);
    assert.match(String(headers.traceparent), /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    assert.equal(JSON.stringify(headers).includes(API_KEY), false);
  });

  test('forwards the exact bytes it checked, with one framing header and no method override', async () => {
    // Odd spacing and an escaped character: re-serialising would change these bytes.
    const body = '{ "jsonrpc" : "2.0", "id":1,\n"method": "tickets\\u002eget", "params":{"ticketId":"TCK-1\u00e9"} }';
    const res = await rpc(other, body, { 'x-http-method-override': 'DELETE', 'x-http-method': 'DELETE', 'x-method-override': 'DELETE' });
    assert.equal(res.status, 200);
    const { headers, body: forwarded } = seen.at(-1) ?? { headers: {}, body: Buffer.alloc(0) };
    assert.equal(forwarded.equals(Buffer.from(body)), true);
    assert.equal(headers['content-length'], String(Buffer.byteLength(body)));
    assert.equal(headers['transfer-encoding'], undefined);
    for (const name of ['x-http-method-override', 'x-http-method', 'x-method-override']) assert.equal(headers[name], undefined, name);
  });
});

describe('a proxy call waiting for a slot while its connector is reloaded', () => {
  test('is checked against the rules of the version it runs on, not those active when it arrived', async () => {
    const dir = scratchDir('proxy-reload');
    for (const name of ['orders-java', 'crm-python']) symlinkSync(join(ROOT_DIR, 'connectors', name), join(dir, name));
    const folder = copyConnector('tickets-node', dir, '1.0.0');
    // One slot, and waits that outlast the test: the second call queues behind the first.
    const reloading = await startTestGateway({
      OMNIGATE_CONNECTORS_DIR: dir, OMNIGATE_ADMIN_KEYS: `ops:${ADMIN_KEY}`, OMNIGATE_AUDIT_FILE: join(dir, 'audit.jsonl'), OMNIGATE_PACKAGE_STORE_DIR: join(dir, '.store'),
      OMNIGATE_RESILIENCE_TICKETS_NODE_MAX_CONCURRENT: '1', OMNIGATE_RESILIENCE_TICKETS_NODE_MAX_WAIT_MS: '60000', OMNIGATE_RESILIENCE_TICKETS_NODE_TIMEOUT_MS: '60000',
    });
    const get = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tickets.get', params: { ticketId: 'TCK-100002' } });
    const tickets = async () => ((await (await reloading.api('/v1/connectors')).json()) as { connectors: { name: string; version: string; bulkhead: { queued: number } }[] }).connectors.find((c) => c.name === 'tickets-node');
    try {
      await setFault('tickets', { mode: 'hold' });
      const before = (await ticketsBackend()).requests;
      const first = rpc(reloading, get);
      await waitFor('the first call to reach the backend', async () => (await ticketsBackend()).requests > before);
      const second = rpc(reloading, get);
      await waitFor('the second call to queue in the bulkhead', async () => (await tickets())?.bulkhead.queued === 1);
      // New requests are answered again (the health check of the new version), the first stays held.
      await setFault('tickets', { mode: 'latency', latencyMs: 0 });
      // Version 2 no longer opens tickets.get; the reload swaps it in, then drains the held call.
      setVersion(folder, '2.0.0', (source) => source.replace("rpcMethods: ['tickets.get', 'tickets.search']", "rpcMethods: ['tickets.search']"));
      const reloaded = fetch(`${reloading.url}/v1/admin/connectors/tickets-node/reload`, { method: 'POST', headers: { 'x-api-key': ADMIN_KEY } });
      await waitFor('version 2.0.0 to be swapped in', async () => (await tickets())?.version === '2.0.0');
      await setFault('tickets', { mode: 'ok' });
      assert.equal((await first).status, 200, 'the call already under way finishes on version 1');
      const refused = await second;
      assert.equal(refused.status, 403);
      assert.equal(((await refused.json()) as { code: string }).code, 'PROXY_PATH_FORBIDDEN');
      assert.equal((await reloaded).status, 200);
    } finally {
      await setFault('tickets', { mode: 'ok' });
      await reloading.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
