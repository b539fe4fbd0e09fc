import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { connectorEnv } from '../../scripts/lib/backends.ts';
import { startFaultProxy, type FaultProxy } from '../../src/sdk/testing/fault-proxy.ts';
import { copyConnector, namePackage, packTarball, scratchDir } from '../support/connector-packages.ts';
import { ROOT_DIR, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TEST_KAFKA_BROKERS, TEST_REDIS_URL, TEST_URLS } from '../support/ports.ts';
import { assertMatchesSpec } from '../support/spec.ts';
import { waitFor } from '../support/wait.ts';

const ADMIN_KEY = 'admin-key-runtime-config-0123';
/** A copy of crm-python under a name of this file's own, installed at run time with no settings in the environment. */
const CRM = 'crm-runtime';
const TOKEN = connectorEnv(TEST_URLS).OMNIGATE_CONNECTOR_CRM_PYTHON_API_TOKEN!;
const KEY = randomBytes(32).toString('base64');
const dirs: string[] = [];
const gateways: TestGateway[] = [];
let ordersProxy: FaultProxy;
let crmProxy: FaultProxy;
let redis: Redis;

/** A gateway whose connectors folder holds orders-java only (configured from the environment), with the run-time settings `env` adds. */
async function node(name: string, env: Record<string, string>): Promise<TestGateway> {
  const dir = scratchDir(`runtime-config-${name}`);
  dirs.push(dir);
  symlinkSync(join(ROOT_DIR, 'connectors/orders-java'), join(dir, 'orders-java'));
  const gw = await startTestGateway({
    OMNIGATE_CONNECTORS_DIR: dir, OMNIGATE_ADMIN_KEYS: `ops:${ADMIN_KEY}`, OMNIGATE_AUDIT_FILE: join(dir, 'audit.jsonl'), OMNIGATE_PACKAGE_STORE_DIR: join(dir, '.store'),
    // Read by `fromEnv` references; the same name on both cluster nodes.
    CRM_RUNTIME_TOKEN: TOKEN,
    ...env,
  });
  gateways.push(gw);
  return gw;
}

const admin = (gw: TestGateway, path: string, init: RequestInit = {}) => fetch(`${gw.url}/v1/admin${path}`, { ...init, headers: { 'x-api-key': ADMIN_KEY, ...init.headers } });
const putConfig = (gw: TestGateway, connector: string, config: Record<string, unknown>) =>
  admin(gw, `/connectors/${connector}/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config }) });
const install = async (gw: TestGateway, name: string) => {
  const folder = namePackage(copyConnector('crm-python', scratchDir('pkg'), '1.0.0', (source) => source.replace("name: 'crm-python'", `name: '${name}'`)), name);
  const tarball = await packTarball(folder);
  rmSync(join(folder, '..'), { recursive: true, force: true });
  return admin(gw, `/connectors/${name}`, { method: 'PUT', headers: { 'content-type': 'application/gzip' }, body: new Uint8Array(tarball) });
};
type View = { connector: string; config: Record<string, unknown>; sources: Record<string, string>; problems?: string[]; updatedBy?: string };
const view = async (gw: TestGateway, connector: string): Promise<View> => (await assertMatchesSpec(await admin(gw, `/connectors/${connector}/config`), 'getConnectorConfig')) as View;
const problemOf = async (res: Response) => (await res.json()) as { code: string; detail: string; stage?: string; fields?: string[]; errors?: { pointer: string; message: string }[] };
const customer = (gw: TestGateway) => gw.api('/v1/customers/42');

before(async () => {
  [ordersProxy, crmProxy] = await Promise.all([startFaultProxy({ target: TEST_URLS.orders }), startFaultProxy({ target: TEST_URLS.crm })]);
  redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });
  await redis.connect();
});
after(async () => {
  // Nothing of this file stays desired for the Kafka nodes of other files.
  if (gateways[0]) await admin(gateways[0], `/connectors/${CRM}`, { method: 'DELETE' });
  await Promise.all(gateways.map((gw) => gw.stop()));
  // Nor any run-time config for the gateways of other files (they share this Redis).
  await redis?.hdel('omnigate:connector-config', 'orders-java', CRM, 'crm-solo');
  await redis?.srem('omnigate:connector-config:connectors', 'orders-java', CRM, 'crm-solo');
  await Promise.all([ordersProxy?.close(), crmProxy?.close()]);
  redis?.disconnect();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('connector config set at run time, on two nodes sharing Redis and Kafka', () => {
  let a: TestGateway;
  let b: TestGateway;
  before(async () => {
    const cluster = { KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','), OMNIGATE_CONFIG_ENCRYPTION_KEY: KEY };
    [a, b] = await Promise.all([node('a', cluster), node('b', cluster)]);
  });

  test('a connector installed without settings answers CONNECTOR_NOT_CONFIGURED, on both nodes', async () => {
    const res = await install(a, CRM);
    assert.equal(res.status, 409);
    const problem = await problemOf(res);
    assert.equal(problem.stage, 'config');
    assert.match(problem.detail, /apiToken is missing \(set OMNIGATE_CONNECTOR_CRM_RUNTIME_API_TOKEN, or PUT \/v1\/admin\/connectors\/crm-runtime\/config\)/);
    for (const gw of [a, b]) {
      const call = await waitFor(`${CRM} known on ${gw.url}`, async () => {
        const r = await customer(gw);
        return r.status === 503 ? r : undefined;
      });
      const body = await problemOf(call);
      assert.equal(body.code, 'CONNECTOR_NOT_CONFIGURED');
    }
  });

  test('its config set on one node (literal base URL and secret) makes it answer from the real backend on both, without a restart', async () => {
    const res = await putConfig(a, CRM, { baseUrl: crmProxy.url, apiToken: TOKEN });
    assert.equal(res.status, 200);
    const outcome = (await assertMatchesSpec(res, 'setConnectorConfig')) as { action: string; result: string; to: string };
    assert.deepEqual([outcome.action, outcome.result, outcome.to], ['configure', 'ok', '1.0.0']);
    const before = crmProxy.stats().forwarded;
    const onA = await customer(a);
    assert.equal(onA.status, 200);
    assert.equal(((await onA.json()) as { source: { connector: string } }).source.connector, CRM);
    assert.ok(crmProxy.stats().forwarded > before, 'the call went to the base URL set at run time');
    await waitFor('the config on node b', async () => (await customer(b)).status === 200);
  });

  test('the secret is stored encrypted, shown redacted, and audited without any value', async () => {
    const raw = await redis.hget('omnigate:connector-config', CRM);
    assert.ok(raw, 'stored in the durable Redis');
    assert.ok(!raw.includes(TOKEN) && !raw.includes(Buffer.from(TOKEN).toString('base64').replace(/=+$/, '')), 'no plaintext secret at rest');
    assert.match(raw, /aes-256-gcm/);
    const shown = await view(a, CRM);
    assert.deepEqual(shown.config, { baseUrl: crmProxy.url, apiToken: '[redacted]' });
    assert.deepEqual(shown.sources, { baseUrl: 'runtime', apiToken: 'runtime' });
    assert.equal(shown.updatedBy, 'ops');
    for (const gw of [a, b]) {
      const audit = (await assertMatchesSpec(await admin(gw, '/audit?limit=20'), 'listAudit')) as { records: { action: string; connector: string; result: string; fields?: string[]; actor: string }[] };
      const configured = audit.records.find((r) => r.action === 'configure' && r.connector === CRM);
      assert.deepEqual([configured?.result, configured?.fields], ['ok', ['baseUrl', 'apiToken']], `audited on ${gw === a ? 'a' : 'b'}, by field name`);
      assert.match(configured?.actor ?? '', /^ops/);
    }
    for (const gw of [a, b]) assert.ok(!JSON.stringify(gw.logs).includes(TOKEN), 'the secret is in no log line');
    assert.ok(!readFileSync(join(dirs[0]!, 'audit.jsonl'), 'utf8').includes(TOKEN));
  });

  test('a field referencing a variable is read from each node\'s environment; fields not given fall back to the environment or the default', async () => {
    const res = await putConfig(a, CRM, { apiToken: { fromEnv: 'CRM_RUNTIME_TOKEN' }, baseUrl: TEST_URLS.crm });
    assert.equal(res.status, 200);
    const before = crmProxy.stats().forwarded;
    assert.equal((await customer(a)).status, 200);
    assert.equal(crmProxy.stats().forwarded, before, 'the new base URL serves');
    const shown = await view(a, CRM);
    assert.deepEqual(shown.sources, { apiToken: 'fromEnv:CRM_RUNTIME_TOKEN', baseUrl: 'runtime' });
    assert.equal(shown.config.apiToken, '[redacted]');
    await waitFor('node b on the new config', async () => (await view(b, CRM)).sources.apiToken === 'fromEnv:CRM_RUNTIME_TOKEN' && (await customer(b)).status === 200);
  });

  test('a bad config is refused with its fields, stores nothing, and the config in force keeps serving', async () => {
    const badUrl = await putConfig(a, CRM, { baseUrl: 'not a url', apiToken: { fromEnv: 'CRM_RUNTIME_TOKEN' } });
    assert.equal(badUrl.status, 400);
    const problem = (await assertMatchesSpec(badUrl, 'setConnectorConfig')) as { code: string; errors: { pointer: string; message: string }[] };
    assert.equal(problem.code, 'VALIDATION_FAILED');
    assert.deepEqual(problem.errors.map((e) => e.pointer), ['/config/baseUrl']);

    const unknown = await problemOf(await putConfig(a, CRM, { apiTokn: 'typo' }));
    assert.equal(unknown.code, 'VALIDATION_FAILED');
    assert.match(unknown.detail, /apiTokn is not a field of crm-runtime's config/);

    const missing = await putConfig(a, CRM, { apiToken: { fromEnv: 'CRM_TOKEN_NOBODY_SET' } });
    assert.equal(missing.status, 400);
    assert.match((await problemOf(missing)).detail, /apiToken: environment variable CRM_TOKEN_NOBODY_SET is not set on this node/);

    assert.equal((await view(a, CRM)).sources.apiToken, 'fromEnv:CRM_RUNTIME_TOKEN', 'nothing stored');
    assert.equal((await customer(a)).status, 200);
  });

  test('a change the connector cannot serve with is refused like a reload, and not kept', async () => {
    crmProxy.setFault({ kind: 'down' });
    try {
      const res = await putConfig(a, CRM, { baseUrl: crmProxy.url, apiToken: { fromEnv: 'CRM_RUNTIME_TOKEN' } });
      assert.equal(res.status, 409);
      const problem = (await assertMatchesSpec(res, 'setConnectorConfig')) as { code: string; action: string; stage: string; from: string; detail: string };
      assert.deepEqual([problem.code, problem.action, problem.from], ['LIFECYCLE_FAILED', 'configure', '1.0.0']);
      assert.ok(['auth', 'health'].includes(problem.stage), problem.stage);
      assert.match(problem.detail, /version 1\.0\.0 keeps serving/);
    } finally {
      crmProxy.clear();
    }
    assert.equal((await view(a, CRM)).config.baseUrl, TEST_URLS.crm, 'the config before it stays');
    const before = crmProxy.stats().forwarded;
    assert.equal((await customer(a)).status, 200);
    assert.equal(crmProxy.stats().forwarded, before);
  });

  test('a node added later loads the connector with the run-time config kept in Redis', async () => {
    const d = await node('d', { KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','), OMNIGATE_CONFIG_ENCRYPTION_KEY: KEY });
    assert.equal((await customer(d)).status, 200, 'served from the first request');
    assert.deepEqual((await view(d, CRM)).sources, { apiToken: 'fromEnv:CRM_RUNTIME_TOKEN', baseUrl: 'runtime' });
  });

  test('a variable missing on another node is named in that node\'s connector problem, never a value', async () => {
    const c = await node('c', { KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','), OMNIGATE_CONFIG_ENCRYPTION_KEY: KEY, CRM_RUNTIME_TOKEN: '' });
    const listed = await waitFor('crm-runtime on node c', async () => {
      const { connectors } = (await (await c.api('/v1/connectors')).json()) as { connectors: { name: string; problem?: { stage: string; message: string } }[] };
      return connectors.find((x) => x.name === CRM && x.problem);
    });
    assert.equal(listed.problem?.stage, 'config');
    assert.match(listed.problem?.message ?? '', /environment variable CRM_RUNTIME_TOKEN is not set on this node/, JSON.stringify(c.logs.filter((l) => l.module === 'runtime-config' || l.level as number >= 40).slice(0, 20)));
    assert.equal((await problemOf(await customer(c))).code, 'CONNECTOR_NOT_CONFIGURED');
  });
});

describe('connector config set at run time on one node, without Kafka', () => {
  let solo: TestGateway;
  before(async () => {
    solo = await node('solo', {});
  });

  test('without OMNIGATE_CONFIG_ENCRYPTION_KEY a literal secret is refused; a reference to a variable is taken', async () => {
    assert.equal((await install(solo, 'crm-solo')).status, 409);
    const refused = await putConfig(solo, 'crm-solo', { baseUrl: TEST_URLS.crm, apiToken: TOKEN });
    assert.equal(refused.status, 400);
    const problem = (await assertMatchesSpec(refused, 'setConnectorConfig')) as { code: string; fields: string[]; detail: string };
    assert.equal(problem.code, 'SECRET_NEEDS_ENCRYPTION_KEY');
    assert.deepEqual(problem.fields, ['apiToken']);
    assert.match(problem.detail, /fromEnv.*OMNIGATE_CONFIG_ENCRYPTION_KEY/);
    assert.equal((await problemOf(await customer(solo))).code, 'CONNECTOR_NOT_CONFIGURED');

    const res = await putConfig(solo, 'crm-solo', { baseUrl: TEST_URLS.crm, apiToken: { fromEnv: 'CRM_RUNTIME_TOKEN' } });
    assert.equal(res.status, 200);
    assert.equal((await customer(solo)).status, 200);
    assert.equal((await admin(solo, '/connectors/crm-solo', { method: 'DELETE' })).status, 200);
  });

  test('a connector configured from the environment takes a run-time field over it, and goes back to the environment when it is dropped', async () => {
    const before = ordersProxy.stats().forwarded;
    const res = await putConfig(solo, 'orders-java', { baseUrl: ordersProxy.url });
    assert.equal(res.status, 200);
    assert.equal((await solo.api('/v1/orders/ORD-0000001')).status, 200);
    assert.ok(ordersProxy.stats().forwarded > before, 'the run-time base URL wins over the environment');
    const shown = await view(solo, 'orders-java');
    assert.equal(shown.sources.baseUrl, 'runtime');
    assert.equal(shown.sources.clientId, 'env');
    assert.equal(shown.config.clientSecret, '[redacted]', 'a secret from the environment is redacted too');

    const dropped = await admin(solo, '/connectors/orders-java/config', { method: 'DELETE' });
    assert.equal(dropped.status, 200);
    assert.equal(((await assertMatchesSpec(dropped, 'deleteConnectorConfig')) as { action: string }).action, 'configure');
    const after = ordersProxy.stats().forwarded;
    assert.equal((await solo.api('/v1/orders/ORD-0000001')).status, 200);
    assert.equal(ordersProxy.stats().forwarded, after, 'back on the environment\'s base URL');
    assert.equal((await view(solo, 'orders-java')).sources.baseUrl, 'env');
    const audit = (await (await admin(solo, '/audit?limit=5')).json()) as { records: { action: string; connector: string; fields?: string[] }[] };
    assert.deepEqual(audit.records.find((r) => r.connector === 'orders-java')?.fields, [], 'a dropped run-time config is audited with no field');
  });

  test('an unknown connector has no config to set or show', async () => {
    assert.equal((await putConfig(solo, 'no-such-connector', { baseUrl: TEST_URLS.crm })).status, 404);
    assert.equal((await admin(solo, '/connectors/no-such-connector/config')).status, 404);
  });
});
