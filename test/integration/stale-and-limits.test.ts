import assert from 'node:assert/strict';
import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { copyConnector, scratchDir, setVersion } from '../support/connector-packages.ts';
import { perTestGateways, ROOT_DIR, setFault, type TestGateway } from '../support/gateway.ts';
import { assertMatchesSpec } from '../support/spec.ts';

const { gateway } = perTestGateways();

describe('stale fallback from the Redis cache', () => {
  test('a read whose backend fails answers its last good result, marked stale with its age and why', async () => {
    const gw = await gateway({ OMNIGATE_RESILIENCE_ORDERS_JAVA_RETRIES: '0' });
    const fresh = await assertMatchesSpec(await gw.api('/v1/orders/ORD-0006001'), 'getOrder');
    assert.equal(fresh.stale, undefined);
    await new Promise((r) => setTimeout(r, 50));
    await setFault('orders', { mode: 'down' });
    const res = await gw.api('/v1/orders/ORD-0006001');
    assert.equal(res.status, 200);
    const stale = await assertMatchesSpec(res, 'getOrder');
    assert.equal(stale.stale, true);
    assert.deepEqual(stale.data, fresh.data);
    assert.ok(stale.staleness.ageMs >= 50);
    assert.equal(stale.staleness.reason.code, 'UPSTREAM_UNAVAILABLE');
    assert.match(await (await gw.api('/metrics')).text(), /omnigate_stale_serves_total\{connector="orders-java",capability="order\.get"\} 1/);
  });

  test('an open breaker serves the stale answer too, without touching the backend', async () => {
    const gw = await gateway({ OMNIGATE_RESILIENCE_ORDERS_JAVA_VOLUME_THRESHOLD: '2', OMNIGATE_RESILIENCE_ORDERS_JAVA_RETRIES: '0', OMNIGATE_RESILIENCE_ORDERS_JAVA_RESET_TIMEOUT_MS: '60000' });
    assert.equal((await gw.api('/v1/orders/ORD-0006002')).status, 200);
    await setFault('orders', { mode: 'down' });
    await gw.api('/v1/orders/ORD-0006101');
    await gw.api('/v1/orders/ORD-0006102');
    const body = (await (await gw.api('/v1/orders/ORD-0006002')).json()) as { stale: boolean; staleness: { reason: { code: string } } };
    assert.equal(body.stale, true);
    assert.equal(body.staleness.reason.code, 'CIRCUIT_OPEN');
  });

  test('the context marks a stale part as such and keeps the healthy ones fresh', async () => {
    const gw = await gateway({ OMNIGATE_RESILIENCE_ORDERS_JAVA_RETRIES: '0' });
    assert.equal((await gw.api('/v1/customers/201/context')).status, 200);
    await setFault('orders', { mode: 'down' });
    const body = await assertMatchesSpec(await gw.api('/v1/customers/201/context'), 'getCustomerContext');
    assert.equal(body.complete, false);
    assert.equal(body.parts.orders.status, 'stale');
    assert.equal(body.parts.orders.error.code, 'UPSTREAM_UNAVAILABLE');
    assert.ok(body.parts.orders.data.length > 0);
    assert.equal(body.parts.customer.status, 'ok');
    assert.equal(body.parts.openTickets.status, 'ok');
  });

  test('stale answers expire with their TTL', async () => {
    const gw = await gateway({ OMNIGATE_STALE_TTL_MS: '1000', OMNIGATE_RESILIENCE_ORDERS_JAVA_RETRIES: '0' });
    assert.equal((await gw.api('/v1/orders/ORD-0006003')).status, 200);
    await setFault('orders', { mode: 'down' });
    await new Promise((r) => setTimeout(r, 1200));
    const res = await gw.api('/v1/orders/ORD-0006003');
    assert.equal(res.status, 502);
  });

  test('a stale answer comes from the connector version serving now: an upgrade does not pass off the old version\'s answers as its own', async (t) => {
    const dir = scratchDir('stale-version');
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    for (const name of ['crm-python', 'tickets-node']) symlinkSync(join(ROOT_DIR, 'connectors', name), join(dir, name));
    // Versions of this run only: the cache is shared by every test run on this Redis.
    const [v1, v2] = [`7.${process.pid}.1`, `7.${process.pid}.2`];
    const folder = copyConnector('orders-java', dir, v1);
    const adminKey = 'admin-key-stale-0123456789';
    const gw = await gateway({ OMNIGATE_CONNECTORS_DIR: dir, OMNIGATE_ADMIN_KEYS: `ops:${adminKey}`, OMNIGATE_PACKAGE_STORE_DIR: join(dir, '.store'), OMNIGATE_AUDIT_FILE: join(dir, 'audit.jsonl'), OMNIGATE_RESILIENCE_ORDERS_JAVA_RETRIES: '0' });
    const read = () => gw.api('/v1/orders/ORD-0006004');
    assert.equal((await assertMatchesSpec(await read(), 'getOrder')).source.version, v1);
    setVersion(folder, v2);
    assert.equal((await fetch(`${gw.url}/v1/admin/connectors/orders-java/reload`, { method: 'POST', headers: { 'x-api-key': adminKey } })).status, 200);

    await setFault('orders', { mode: 'down' });
    const failed = await read();
    assert.equal(failed.status, 502, `${v1}'s answer is not served as ${v2}'s`);
    assert.equal(((await failed.json()) as { code: string }).code, 'UPSTREAM_UNAVAILABLE');

    await setFault('orders', { mode: 'ok' });
    assert.equal((await read()).status, 200);
    await setFault('orders', { mode: 'down' });
    const stale = await assertMatchesSpec(await read(), 'getOrder');
    assert.equal(stale.stale, true);
    assert.equal(stale.source.version, v2, 'the version that stored the answer');
  });

  test('writes never fall back', async () => {
    const gw = await gateway();
    await setFault('tickets', { mode: 'down' });
    const res = await gw.api('/v1/tickets', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ customerId: '7', subject: 's', description: 'd' }) });
    assert.equal(res.status, 502);
    assert.equal(((await res.json()) as { code: string }).code, 'UPSTREAM_UNAVAILABLE');
  });
});

describe('rate limits', () => {
  test('per API key, shared across gateway nodes through Redis: 429 with Retry-After', async () => {
    const key = `rl-${Date.now()}-0123456789`;
    const env = { OMNIGATE_API_KEYS: `limited:${key}`, OMNIGATE_RATE_LIMIT_PER_KEY: '10', OMNIGATE_RATE_LIMIT_WINDOW_MS: '60000' };
    const [a, b] = [await gateway(env), await gateway(env)];
    const call = (gw: TestGateway) => fetch(`${gw.url}/v1/connectors`, { headers: { 'x-api-key': key } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await call(a)).status, (await call(b)).status);
    assert.deepEqual(statuses.filter((s) => s === 200).length, 10, `statuses: ${statuses.join(',')}`);
    const refused = await call(a);
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal(refused.headers.get('ratelimit-remaining'), '0');
    assert.equal(((await assertMatchesSpec(refused, 'listConnectors')) as { code: string }).code, 'RATE_LIMITED');
  });

  test('per connector, to protect its backend', async () => {
    const gw = await gateway({ OMNIGATE_RESILIENCE_CRM_PYTHON_RATE_LIMIT_PER_SEC: '5' });
    // Line up with the start of a second so the window does not roll over mid-burst.
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => gw.api(`/v1/customers/${300 + i}`)));
    const limited = answers.filter((r) => r.status === 429);
    assert.ok(limited.length >= 5, `${limited.length} of 12 refused`);
    const problem = (await limited[0]?.json()) as { code: string; connector: string };
    assert.equal(problem.code, 'RATE_LIMITED');
    assert.equal(problem.connector, 'crm-python');
    assert.ok(Number(limited[0]?.headers.get('retry-after')) >= 1);
  });
});
