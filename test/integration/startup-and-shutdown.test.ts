import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { connectorEnv } from '../../scripts/lib/backends.ts';
import { API_KEY, ROOT_DIR, setFault, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { port, TEST_REDIS_CACHE_URL, TEST_REDIS_URL, TEST_URLS } from '../support/ports.ts';
import { assertMatchesSpec } from '../support/spec.ts';
import { waitFor } from '../support/wait.ts';

const dir = join(ROOT_DIR, '.data', `connectors-under-test-${process.pid}`);

function connectorPackage(name: string, source: string): void {
  mkdirSync(join(dir, name, 'src'), { recursive: true });
  writeFileSync(join(dir, name, 'package.json'), JSON.stringify({ name, version: '0.0.1', type: 'module', main: './src/index.ts' }));
  writeFileSync(join(dir, name, 'src/index.ts'), source);
}

const VALID_MANIFEST = `{
  name: 'NAME', version: '1.0.0', system: 'SYSTEM', description: 'test connector',
  capabilities: [{ name: 'invoice.get', kind: 'query', description: 'x', params: { type: 'object' }, result: 'Order' }],
  configSchema: { type: 'object', required: ['baseUrl', 'apiKey'], properties: { baseUrl: { type: 'string' }, apiKey: { type: 'string', 'x-secret': true } } },
}`;

let gw: TestGateway;
before(async () => {
  mkdirSync(dir, { recursive: true });
  for (const name of ['orders-java', 'crm-python', 'tickets-node']) symlinkSync(join(ROOT_DIR, 'connectors', name), join(dir, name));
  connectorPackage('not-a-connector', 'export default { hello: "world" };\n');
  connectorPackage('throws-on-import', 'throw new Error("boom at import");\n');
  connectorPackage('bad-manifest', `import { defineConnector } from 'omnigate/sdk';
export default defineConnector({ manifest: { ...${VALID_MANIFEST.replace('NAME', 'Bad Name!').replace('SYSTEM', 'billing')}, version: 'one' },
  async auth() { return { authorize() {} }; }, queries: { 'invoice.get': async () => ({}) }, async health() { return { ok: true }; } });\n`);
  connectorPackage('missing-config', `import { defineConnector } from 'omnigate/sdk';
export default defineConnector({ manifest: ${VALID_MANIFEST.replace('NAME', 'missing-config').replace('SYSTEM', 'billing').replace("'invoice.get'", "'invoice.settings'")},
  async auth() { return { authorize() {} }; }, queries: { 'invoice.settings': async () => ({}) }, async health() { return { ok: true }; } });\n`);
  gw = await startTestGateway({ OMNIGATE_CONNECTORS_DIR: dir });
});
after(async () => {
  await gw?.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Listed = { name: string; state: string; problem?: { stage: string; message: string } };

describe('start-up with broken connectors', () => {
  test('reports each broken connector with its name, stage and problem, and serves with the others', async () => {
    const { connectors } = (await (await gw.api('/v1/connectors')).json()) as { connectors: Listed[] };
    const byName = Object.fromEntries(connectors.map((c) => [c.name, c]));
    assert.equal(byName['orders-java']?.state, 'ready');
    assert.equal(byName['not-a-connector']?.state, 'failed');
    assert.equal(byName['not-a-connector']?.problem?.stage, 'load');
    assert.match(byName['not-a-connector']?.problem?.message ?? '', /defineConnector/);
    assert.match(byName['throws-on-import']?.problem?.message ?? '', /boom at import/);
    assert.equal(byName['bad-manifest']?.problem?.stage, 'manifest');
    assert.match(byName['bad-manifest']?.problem?.message ?? '', /name/);
    assert.match(byName['bad-manifest']?.problem?.message ?? '', /version/);
    assert.equal(byName['missing-config']?.problem?.stage, 'config');
    assert.match(byName['missing-config']?.problem?.message ?? '', /OMNIGATE_CONNECTOR_MISSING_CONFIG_API_KEY/);
    assert.match(byName['missing-config']?.problem?.message ?? '', /OMNIGATE_CONNECTOR_MISSING_CONFIG_BASE_URL/);

    assert.equal((await gw.api('/v1/customers/42/context')).status, 200);
  });

  test('says so in /readyz and in the log', async () => {
    const ready = (await (await fetch(`${gw.url}/readyz`)).json()) as { status: string; connectors: Listed[] };
    assert.equal(ready.status, 'degraded');
    assert.equal(ready.connectors.filter((c) => c.state === 'failed').length, 4);
    const failures = gw.logs.filter((l) => l.msg === 'connector failed to load').map((l) => l.connector);
    assert.deepEqual(failures.sort(), ['bad-manifest', 'missing-config', 'not-a-connector', 'throws-on-import']);
  });

  test('answers a capability of a failed connector with 503 CONNECTOR_UNAVAILABLE', async () => {
    const res = await gw.api('/v1/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ capability: 'invoice.get', params: {} }) });
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { code: string }).code, 'CONNECTOR_UNAVAILABLE');
  });

  test('answers a capability of a connector missing its settings with 503 CONNECTOR_NOT_CONFIGURED, not retryable', async () => {
    const res = await gw.api('/v1/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ capability: 'invoice.settings', params: {} }) });
    assert.equal(res.status, 503);
    const problem = (await assertMatchesSpec(res, 'query')) as { code: string; retryable: boolean; connector: string; detail: string };
    assert.deepEqual({ code: problem.code, retryable: problem.retryable, connector: problem.connector }, { code: 'CONNECTOR_NOT_CONFIGURED', retryable: false, connector: 'missing-config' });
    assert.match(problem.detail, /OMNIGATE_CONNECTOR_MISSING_CONFIG_API_KEY/);
  });
});

describe('a backend that is down when the gateway starts', () => {
  test('leaves its connector failed at auth, answers 503 for it, and recovers by itself once the backend is back', async () => {
    await setFault('orders', { mode: 'down' });
    const late = await startTestGateway();
    try {
      const { connectors } = (await (await late.api('/v1/connectors')).json()) as { connectors: Listed[] };
      const orders = connectors.find((c) => c.name === 'orders-java');
      assert.equal(orders?.state, 'failed');
      assert.equal(orders?.problem?.stage, 'auth');
      assert.equal(((await (await fetch(`${late.url}/readyz`)).json()) as { status: string }).status, 'degraded');
      const refused = await late.api('/v1/orders/ORD-0000001');
      assert.equal(refused.status, 503);
      assert.equal(((await refused.json()) as { code: string }).code, 'CONNECTOR_UNAVAILABLE');

      await setFault('orders', { mode: 'ok' });
      let state = 'failed';
      for (let i = 0; i < 50 && state !== 'ready'; i++) {
        await new Promise((r) => setTimeout(r, 200));
        const list = (await (await late.api('/v1/connectors')).json()) as { connectors: Listed[] };
        state = list.connectors.find((c) => c.name === 'orders-java')?.state ?? 'missing';
      }
      assert.equal(state, 'ready');
      assert.equal((await late.api('/v1/orders/ORD-0000001')).status, 200);
    } finally {
      await setFault('orders', { mode: 'ok' });
      await late.stop();
    }
  });

  test('starts, and recovers by itself, also when the folder is not named after its connector', async () => {
    const renamed = join(dir, '..', `connectors-renamed-${process.pid}`);
    mkdirSync(renamed, { recursive: true });
    symlinkSync(join(ROOT_DIR, 'connectors/orders-java'), join(renamed, 'orders'));
    await setFault('orders', { mode: 'down' });
    const late = await startTestGateway({ OMNIGATE_CONNECTORS_DIR: renamed, OMNIGATE_PACKAGE_STORE_DIR: join(renamed, '.store'), OMNIGATE_CONNECTOR_RETRY_MIN_MS: '200' });
    try {
      const state = async () => ((await (await late.api('/v1/connectors')).json()) as { connectors: Listed[] }).connectors.map((c) => `${c.name}:${c.state}`);
      assert.deepEqual(await state(), ['orders-java:failed'], 'listed under its own name');
      await setFault('orders', { mode: 'ok' });
      let now = await state();
      for (let i = 0; i < 50 && now[0] !== 'orders-java:ready'; i++) {
        await new Promise((r) => setTimeout(r, 200));
        now = await state();
      }
      assert.deepEqual(now, ['orders-java:ready']);
      assert.equal((await late.api('/v1/orders/ORD-0000001')).status, 200);
    } finally {
      await setFault('orders', { mode: 'ok' });
      await late.stop();
      rmSync(renamed, { recursive: true, force: true });
    }
  });
});

function runMain(env: Record<string, string>) {
  const child = spawn(process.execPath, [join(ROOT_DIR, 'src/main.ts')], { cwd: ROOT_DIR, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

describe('start-up with Redis', () => {
  test('reads and records when this node first started (the connection is ready before the first read, not failed fast while opening)', async () => {
    const failed = gw.logs.filter((l) => String(l.msg).includes('could not read when this node first started'));
    assert.deepEqual(failed.map((l) => (l.err as { message?: string } | undefined)?.message), [], 'the start-up read failed');
    const redis = new Redis(TEST_REDIS_URL);
    try {
      assert.ok(Number(await redis.get(`omnigate:cluster:first-start:${gw.events.nodeId}`)) > 0, 'the first start is recorded');
    } finally {
      redis.disconnect();
    }
  });
});

describe('the gateway process', () => {
  test('refuses to start on bad configuration, listing every problem at once', async () => {
    const run = runMain({ PORT: 'eighty', OMNIGATE_CALL_TIMEOUT_MS: '-5', LOG_LEVEL: 'loud' });
    assert.equal(await run.exited, 78);
    for (const name of ['PORT', 'OMNIGATE_CALL_TIMEOUT_MS', 'LOG_LEVEL', 'OMNIGATE_API_KEYS']) assert.match(run.err(), new RegExp(name));
  });

  test('refuses to start on bad resilience settings, naming each variable', async () => {
    const run = runMain({
      ...connectorEnv(TEST_URLS), REDIS_URL: TEST_REDIS_URL, REDIS_CACHE_URL: TEST_REDIS_CACHE_URL, PORT: '0', OMNIGATE_API_KEYS: `test:${API_KEY}`,
      OMNIGATE_RESILIENCE_ORDERS_JAVA_TIMEOUT_MS: 'soon', OMNIGATE_RESILIENCE_CRM_PYTHON_MAX_CONCURRENT: '0', OMNIGATE_RESILIENCE_CRM_PYTHON_COLOUR: 'red',
    });
    assert.equal(await run.exited, 78);
    for (const name of ['OMNIGATE_RESILIENCE_ORDERS_JAVA_TIMEOUT_MS', 'OMNIGATE_RESILIENCE_CRM_PYTHON_MAX_CONCURRENT', 'OMNIGATE_RESILIENCE_CRM_PYTHON_COLOUR']) {
      assert.match(run.err(), new RegExp(name));
    }
  });

  test('drains an in-flight request on SIGTERM, refuses a new one on the same connection with 503 SHUTTING_DOWN, then exits 0', async () => {
    // The key's per-minute count is shared in Redis with every earlier test that used it (the
    // default limit answered 429 right after the live-connector tests): lift it, as for test gateways.
    const run = runMain({ ...connectorEnv(TEST_URLS), REDIS_URL: TEST_REDIS_URL, REDIS_CACHE_URL: TEST_REDIS_CACHE_URL, PORT: String(port(18180)), OMNIGATE_API_KEYS: `test:${API_KEY}`, OMNIGATE_RATE_LIMIT_PER_KEY: '1000000', OMNIGATE_SHUTDOWN_GRACE_MS: '5000' });
    try {
      // As long as every test gateway may take to start (test/support/gateway-process.ts): 10 s
      // was once too little on a loaded machine (connectors alone took 5 s to start).
      await waitFor('gateway listening', () => run.out().includes('gateway listening'), { timeoutMs: 30_000, intervalMs: 100, detail: () => run.out() });
      await setFault('orders', { mode: 'latency', latencyMs: 1200 });
      // One keep-alive connection: a slow read, then (after SIGTERM, while the first is in flight) another.
      const socket = connect(port(18180), '127.0.0.1');
      let replies = '';
      socket.setEncoding('latin1').on('data', (chunk: string) => (replies += chunk));
      const closed = new Promise((resolve) => socket.once('close', resolve));
      const read = (id: string) => `GET /v1/orders/${id} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-api-key: ${API_KEY}\r\n\r\n`;
      socket.write(read('ORD-0000001'));
      await new Promise((r) => setTimeout(r, 300));
      run.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      socket.write(read('ORD-0000002'));
      await closed;
      // The in-flight read is answered; the new one is refused (the short way the query reads take checks it too), and the connection closed.
      const answers = [...replies.matchAll(/HTTP\/1\.1 (\d{3}) [^]*?\r\n\r\n/g)];
      assert.deepEqual(answers.map((m) => m[1]), ['200', '503'], replies.slice(0, 2000));
      assert.match(answers[1]![0], /\r\nconnection: close\r\n/i);
      assert.match(replies.slice(answers[1]!.index), /"code":"SHUTTING_DOWN"/);
      assert.equal(await run.exited, 0);
      assert.match(run.out(), /draining/);
      await assert.rejects(fetch(`http://127.0.0.1:${port(18180)}/healthz`), 'the port is closed after exit');
    } finally {
      run.child.kill('SIGKILL');
      await setFault('orders', { mode: 'ok' });
    }
  });
});
