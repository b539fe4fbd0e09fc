import assert from 'node:assert/strict';
import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyConnector, namePackage, packTarball, scratchDir, setVersion } from '../support/connector-packages.ts';
import { connectorEnv } from '../../scripts/lib/backends.ts';
import { API_KEY, ROOT_DIR, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TEST_URLS } from '../support/ports.ts';
import { assertMatchesSpec } from '../support/spec.ts';
import { waitFor } from '../support/wait.ts';

const ADMIN_KEY = 'admin-key-0123456789abcdef';
let dir: string;
let gw: TestGateway;

before(async () => {
  dir = scratchDir('live-connectors');
  symlinkSync(join(ROOT_DIR, 'connectors/crm-python'), join(dir, 'crm-python'));
  symlinkSync(join(ROOT_DIR, 'connectors/tickets-node'), join(dir, 'tickets-node'));
  copyConnector('orders-java', dir, '1.0.0');
  gw = await startTestGateway({
    OMNIGATE_CONNECTORS_DIR: dir,
    OMNIGATE_ADMIN_KEYS: `ops:${ADMIN_KEY}`,
    OMNIGATE_AUDIT_FILE: join(dir, 'audit.jsonl'),
    OMNIGATE_PACKAGE_STORE_DIR: join(dir, '.store'),
    // A second copy of orders-java, installed under another name, needs its settings too.
    ...Object.fromEntries(Object.entries(connectorEnv(TEST_URLS)).filter(([k]) => k.startsWith('OMNIGATE_CONNECTOR_ORDERS_JAVA_')).map(([k, v]) => [k.replace('ORDERS_JAVA', 'ORDERS_EXTRA'), v])),
  });
});
after(async () => {
  await gw?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const admin = (path: string, init: RequestInit = {}) => fetch(`${gw.url}/v1/admin${path}`, { ...init, headers: { 'x-api-key': ADMIN_KEY, ...init.headers } });
const install = async (version: string, edit?: (s: string) => string) => {
  const folder = copyConnector('orders-java', scratchDir('pkg'), version, edit);
  const tarball = await packTarball(folder);
  rmSync(join(folder, '..'), { recursive: true, force: true });
  return admin('/connectors/orders-java', { method: 'PUT', headers: { 'content-type': 'application/gzip' }, body: new Uint8Array(tarball) });
};
type Listed = { name: string; version?: string; state: string; rollbackVersion?: string; lastError?: { stage: string; message: string }; restarts: number };
const listed = async (name: string): Promise<Listed | undefined> =>
  ((await (await gw.api('/v1/connectors')).json()) as { connectors: Listed[] }).connectors.find((c) => c.name === name);

describe('live connector lifecycle', () => {
  test('admin endpoints need an admin key: none is 401, an API key is 403', async () => {
    assert.equal((await fetch(`${gw.url}/v1/admin/audit`)).status, 401);
    const forbidden = await fetch(`${gw.url}/v1/admin/audit`, { headers: { 'x-api-key': API_KEY } });
    assert.equal(forbidden.status, 403);
    assert.equal(((await forbidden.json()) as { code: string }).code, 'FORBIDDEN');
    assert.equal((await fetch(`${gw.url}/v1/connectors`, { headers: { 'x-api-key': ADMIN_KEY } })).status, 401, 'an admin key is not an API key');
  });

  test('upgrades a connector 20 times under steady traffic with zero failed requests, each answer from exactly one version', async () => {
    const versions = Array.from({ length: 20 }, (_, i) => `1.1.${i + 1}`);
    const seen: string[][] = [];
    let stop = false;
    const failures: string[] = [];
    const worker = async (lane: number) => {
      const mine: string[] = [];
      seen.push(mine);
      for (let i = 0; !stop; i++) {
        const res = await gw.api(`/v1/orders/ORD-${String(1 + ((lane * 97 + i) % 1000)).padStart(7, '0')}`);
        const body = (await res.json()) as { source?: { version: string }; code?: string; stale?: boolean };
        if (res.status !== 200 || body.stale) failures.push(`${res.status} ${body.code ?? 'stale'}`);
        else mine.push(body.source?.version ?? 'none');
      }
    };
    const traffic = Array.from({ length: 6 }, (_, lane) => worker(lane));
    for (const version of versions) {
      const res = await install(version);
      const outcome = (await assertMatchesSpec(res, 'installConnector')) as { to: string; result: string };
      assert.equal(outcome.to, version);
    }
    await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await Promise.all(traffic);

    assert.deepEqual(failures, []);
    const all = seen.flat();
    assert.ok(all.length > 200, `only ${all.length} requests went through`);
    const known = new Set(['1.0.0', ...versions]);
    for (const version of all) assert.ok(known.has(version), `an answer came from ${version}`);
    // Per client, versions only move forward: no answer mixes or returns to an older version.
    for (const lane of seen) {
      const order = lane.map((v) => (v === '1.0.0' ? 0 : Number(v.split('.')[2])));
      assert.deepEqual(order, [...order].sort((a, b) => a - b));
    }
    assert.ok(new Set(all).size >= 5, `traffic saw only ${new Set(all).size} versions`);
    const now = await listed('orders-java');
    assert.equal(now?.version, '1.1.20');
    assert.equal(now?.rollbackVersion, '1.1.19');
  });

  test('a failed upgrade keeps the old version serving and says why, in the answer, the status and the audit', async () => {
    const res = await install('9.9.9', (source) => source.replace("system: 'orders'", "system: 'Orders!'"));
    assert.equal(res.status, 409);
    const problem = (await assertMatchesSpec(res, 'installConnector')) as { code: string; stage: string; connector: string; from: string; to: string };
    assert.equal(problem.code, 'LIFECYCLE_FAILED');
    assert.equal(problem.stage, 'manifest');
    assert.equal(problem.from, '1.1.20');
    assert.match((problem as unknown as { detail: string }).detail, /version 1\.1\.20 keeps serving/);
    const now = await listed('orders-java');
    assert.equal(now?.version, '1.1.20');
    assert.equal(now?.state, 'ready');
    assert.equal(now?.lastError?.stage, 'manifest');
    assert.equal((await gw.api('/v1/orders/ORD-0000002')).status, 200);
    assert.ok(gw.logs.some((l) => l.level === 50 && l.connector === 'orders-java' && String(l.msg).includes('previous version keeps serving')));
  });

  test('a version whose code does not even import is refused the same way', async () => {
    const res = await install('9.9.8', (source) => `${source}\nthis is not javascript\n`);
    assert.equal(res.status, 409);
    assert.equal(((await res.json()) as { stage: string }).stage, 'load');
    assert.equal((await listed('orders-java'))?.version, '1.1.20');
  });

  test('an install whose package.json version disagrees with the manifest is refused with 409, naming the field and both values', async () => {
    const folder = copyConnector('orders-java', scratchDir('pkg'), '1.3.0');
    const pkgPath = join(folder, 'package.json');
    writeFileSync(pkgPath, JSON.stringify({ ...(JSON.parse(readFileSync(pkgPath, 'utf8')) as object), version: '1.3.1' }));
    const tarball = await packTarball(folder);
    rmSync(join(folder, '..'), { recursive: true, force: true });
    const before = (await listed('orders-java'))?.version;
    const res = await admin('/connectors/orders-java', { method: 'PUT', headers: { 'content-type': 'application/gzip' }, body: new Uint8Array(tarball) });
    assert.equal(res.status, 409);
    const problem = (await assertMatchesSpec(res, 'installConnector')) as { code: string; stage: string; detail: string };
    assert.equal(problem.code, 'LIFECYCLE_FAILED');
    assert.equal(problem.stage, 'manifest');
    assert.match(problem.detail, /package\.json version 1\.3\.1 does not match the manifest's version 1\.3\.0/);
    assert.equal((await listed('orders-java'))?.version, before, 'nothing changed');
  });

  test('rolls back to the version the last change replaced', async () => {
    const res = await admin('/connectors/orders-java/rollback', { method: 'POST' });
    const outcome = (await assertMatchesSpec(res, 'rollbackConnector')) as { from: string; to: string };
    assert.deepEqual([outcome.from, outcome.to], ['1.1.20', '1.1.19']);
    assert.equal(((await (await gw.api('/v1/orders/ORD-0000003')).json()) as { source: { version: string } }).source.version, '1.1.19');
    assert.equal((await listed('orders-java'))?.rollbackVersion, '1.1.20');
  });

  test('reloads a connector from its folder', async () => {
    setVersion(join(dir, 'orders-java'), '2.0.0');
    const res = await admin('/connectors/orders-java/reload', { method: 'POST' });
    assert.deepEqual(await assertMatchesSpec(res, 'reloadConnector'), { connector: 'orders-java', action: 'reload', from: '1.1.19', to: '2.0.0', result: 'ok' });
  });

  test('removes a connector; its capabilities are then unknown, and a reload brings it back', async () => {
    const res = await admin('/connectors/orders-java', { method: 'DELETE' });
    assert.equal(((await assertMatchesSpec(res, 'removeConnector')) as { from: string }).from, '2.0.0');
    const gone = await gw.api('/v1/orders/ORD-0000001');
    assert.equal(gone.status, 400);
    assert.equal(((await gone.json()) as { code: string }).code, 'UNKNOWN_CAPABILITY');
    assert.equal((await admin('/connectors/orders-java', { method: 'DELETE' })).status, 404);
    assert.equal((await admin('/connectors/orders-java/reload', { method: 'POST' })).status, 200);
    assert.equal((await gw.api('/v1/orders/ORD-0000001')).status, 200);
  });

  test('writes an audit record of every change: who, what, from which version to which, and the result', async () => {
    const res = await admin('/audit?limit=50');
    const { records } = (await assertMatchesSpec(res, 'listAudit')) as { records: { actor: string; action: string; connector: string; from?: string; to?: string; result: string }[] };
    const [latest] = records;
    assert.deepEqual({ ...latest, at: undefined, requestId: undefined, traceId: undefined }, { actor: 'ops', action: 'reload', connector: 'orders-java', to: '2.0.0', result: 'ok', at: undefined, requestId: undefined, traceId: undefined });
    assert.ok(records.some((r) => r.action === 'install' && r.result === 'failed' && r.to === '9.9.9' && r.from === '1.1.20'));
    assert.ok(records.some((r) => r.action === 'rollback' && r.from === '1.1.20' && r.to === '1.1.19'));
    assert.ok(records.some((r) => r.action === 'remove' && r.from === '2.0.0'));
    assert.equal(records.filter((r) => r.action === 'install' && r.result === 'ok').length, 20);
  });
});

describe('a refused first install', () => {
  const installAs = async (name: string, broken: boolean) => {
    // The package is named after the connector, as an install checks.
    const folder = namePackage(copyConnector('orders-java', scratchDir('pkg'), '1.0.0', (source) => `${source.replace("name: 'orders-java'", `name: '${name}'`)}${broken ? '\nthis is not javascript\n' : ''}`), name);
    const tarball = await packTarball(folder);
    rmSync(join(folder, '..'), { recursive: true, force: true });
    return admin(`/connectors/${name}`, { method: 'PUT', headers: { 'content-type': 'application/gzip' }, body: new Uint8Array(tarball) });
  };
  const readiness = async () => ((await (await fetch(`${gw.url}/readyz`)).json()) as { status: string }).status;

  test('a refused install of a new connector leaves readiness and the list as they were, and only the audit remembers it', async () => {
    assert.equal(await readiness(), 'ready');
    const refused = await installAs('orders-extra', true);
    assert.equal(refused.status, 409);
    const problem = (await assertMatchesSpec(refused, 'installConnector')) as { code: string; title: string; stage: string; from?: string };
    assert.equal(problem.code, 'LIFECYCLE_FAILED');
    assert.equal(problem.from, undefined);
    assert.doesNotMatch(problem.title, /previous version/, 'there was no previous version');
    const { detail } = problem as unknown as { detail: string };
    assert.doesNotMatch(detail, /keeps serving/, 'a connector that never loaded has no version to keep serving');
    assert.match(detail, /no version of orders-extra is serving/);
    assert.equal(await readiness(), 'ready', 'nothing that was serving stopped');
    assert.equal(await listed('orders-extra'), undefined, 'no phantom connector');
    assert.equal((await admin('/connectors/orders-extra', { method: 'DELETE' })).status, 404, 'nothing to remove');
    const { records } = (await (await admin('/audit?limit=5')).json()) as { records: { action: string; connector: string; result: string }[] };
    assert.ok(records.some((r) => r.action === 'install' && r.connector === 'orders-extra' && r.result === 'failed'));

    assert.equal((await installAs('orders-extra', false)).status, 200);
    // A copy of orders-java declares its capabilities, with no owner configured: served, but ambiguous.
    assert.equal(await readiness(), 'degraded', 'after a good install of a second connector declaring order.get');
    assert.equal((await listed('orders-extra'))?.state, 'ready');
    assert.equal((await admin('/connectors/orders-extra', { method: 'DELETE' })).status, 200);
  });
});

describe('watching connectors/ (opt-in, for development)', () => {
  test('reloads a connector when its folder changes', async () => {
    const watched = scratchDir('watched');
    copyConnector('orders-java', watched, '3.0.0');
    symlinkSync(join(ROOT_DIR, 'connectors/crm-python'), join(watched, 'crm-python'));
    const dev = await startTestGateway({ OMNIGATE_CONNECTORS_DIR: watched, OMNIGATE_WATCH_CONNECTORS: 'true', OMNIGATE_PACKAGE_STORE_DIR: join(watched, '.store'), OMNIGATE_AUDIT_FILE: join(watched, 'audit.jsonl') });
    try {
      const ordersJava = async () => ((await (await dev.api('/v1/connectors')).json()) as { connectors: Listed[] }).connectors.find((c) => c.name === 'orders-java');
      setVersion(join(watched, 'orders-java'), '3.0.1');
      await waitFor('the watched folder reloaded as 3.0.1', async () => (await ordersJava())?.version === '3.0.1');
      assert.equal((await ordersJava())?.lastError, undefined, 'no error before the bad save');
      writeFileSync(join(watched, 'orders-java/src/index.ts'), 'export default 42;\n');
      // Waits on the refused load itself, not on a fixed time (which a busy machine outran).
      const orders = await waitFor('the bad save refused at load', async () => {
        const found = await ordersJava();
        return found?.lastError?.stage === 'load' ? found : undefined;
      });
      assert.equal(orders?.version, '3.0.1', 'a bad save keeps the previous version serving');
      assert.equal(orders?.lastError?.stage, 'load');
    } finally {
      await dev.stop();
      rmSync(watched, { recursive: true, force: true });
    }
  });
});
