import assert from 'node:assert/strict';
import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyConnector, namePackage, packTarball, scratchDir, settingsAs } from '../support/connector-packages.ts';
import { backendAdmin, ROOT_DIR, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { assertMatchesSpec } from '../support/spec.ts';

const ADMIN_KEY = 'admin-key-0123456789abcdef';
// customer.get: each region to its CRM, anything else to crm-python. customer.list: no default,
// and its apac route names a CRM that is never installed.
const GET_ROUTING = { by: 'region', routes: { eu: 'crm-eu', us: 'crm-us' }, default: 'crm-python' };
const LIST_ROUTING = { by: 'region', routes: { eu: 'crm-eu', us: 'crm-us', apac: 'crm-apac' } };
let dir: string;
let gw: TestGateway;

before(async () => {
  dir = scratchDir('capability-routes');
  symlinkSync(join(ROOT_DIR, 'connectors/crm-python'), join(dir, 'crm-python'));
  gw = await startTestGateway({
    OMNIGATE_CONNECTORS_DIR: dir,
    OMNIGATE_ADMIN_KEYS: `ops:${ADMIN_KEY}`,
    OMNIGATE_AUDIT_FILE: join(dir, 'audit.jsonl'),
    OMNIGATE_PACKAGE_STORE_DIR: join(dir, '.store'),
    // The crm system (its proxy) belongs to crm-eu; each capability's own routing wins over that.
    OMNIGATE_CAPABILITY_OWNERS: JSON.stringify({ 'customer.get': GET_ROUTING, 'customer.list': LIST_ROUTING, 'system:crm': 'crm-eu' }),
    // Both regional CRMs (copies of crm-python under other names) reach the same backend.
    ...settingsAs('crm-python', 'crm-eu'),
    ...settingsAs('crm-python', 'crm-us'),
  });
});
after(async () => {
  await gw?.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Warning = { code: string; capability: string; route?: string; connector?: string; reason?: string; message: string };
type Shared = { capability: string; connectors: string[]; servedBy: string; routing?: unknown; routeProblems?: unknown[]; ambiguous: boolean };
const admin = (path: string, init: RequestInit = {}) => fetch(`${gw.url}/v1/admin${path}`, { ...init, headers: { 'x-api-key': ADMIN_KEY, ...init.headers } });
/** Installs a copy of crm-python named `name`; `edit` changes its source further. */
const installCrm = async (name: string, edit: (source: string) => string = (s) => s) => {
  const folder = namePackage(copyConnector('crm-python', scratchDir('pkg'), '1.0.0', (source) => edit(source.replace("name: 'crm-python'", `name: '${name}'`))), name);
  const tarball = await packTarball(folder);
  rmSync(join(folder, '..'), { recursive: true, force: true });
  const res = await admin(`/connectors/${name}`, { method: 'PUT', headers: { 'content-type': 'application/gzip' }, body: new Uint8Array(tarball) });
  assert.equal(res.status, 200, `install ${name}`);
  const outcome = (await assertMatchesSpec(res, 'installConnector')) as { result: string; warnings?: Warning[] };
  assert.equal(outcome.result, 'ok');
  return outcome.warnings ?? [];
};
const shared = async (): Promise<Shared[]> => ((await assertMatchesSpec(await gw.api('/v1/connectors'), 'listConnectors')) as { sharedCapabilities: Shared[] }).sharedCapabilities;
const readiness = async () => (await assertMatchesSpec(await fetch(`${gw.url}/readyz`), 'readiness')) as { status: string; brokenRoutes?: unknown[]; ambiguousCapabilities?: unknown[] };
const query = (capability: string, params: Record<string, unknown>) =>
  gw.api('/v1/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ capability, params }) });
const servedBy = async (capability: string, params: Record<string, unknown>) => {
  const res = await query(capability, params);
  assert.equal(res.status, 200, `${capability} ${JSON.stringify(params)}`);
  return ((await assertMatchesSpec(res, 'query')) as { source: { connector: string } }).source.connector;
};
const problemOf = async (res: Response, status: number) => {
  assert.equal(res.status, status);
  assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
  return (await res.json()) as { code: string; detail: string; param?: string; known?: string[]; capability?: string; connector?: string; errors?: { pointer: string }[] };
};
/** The paths the CRM backend was asked for (its last 100 requests, query strings included). */
const backendPaths = async () => (await backendAdmin<{ path: string }[]>('crm', 'requests')).map((r) => r.path);
/** The connector the gateway's proxy used for one call through /v1/proxy/crm (from its log line). */
const proxiedBy = async () => {
  const seen = gw.logs.filter((l) => l.msg === 'proxying').length;
  const res = await gw.api('/v1/proxy/crm/api/customers/?page_size=1');
  assert.equal(res.status, 200);
  return gw.logs.filter((l) => l.msg === 'proxying')[seen]?.connector;
};
const brokenRoute = (capability: string, route: string, connector: string) => ({ capability, route, connector, reason: 'not_loaded' });

describe('a capability routed by a region param over two regional CRMs', () => {
  test('routes not yet installed are warned of, listed and degrade readiness; the default serves meanwhile', async () => {
    const before = await readiness();
    assert.equal(before.status, 'degraded', 'routes to CRMs that are not loaded');
    assert.deepEqual(before.brokenRoutes, [
      brokenRoute('customer.get', 'eu', 'crm-eu'), brokenRoute('customer.get', 'us', 'crm-us'),
      brokenRoute('customer.list', 'eu', 'crm-eu'), brokenRoute('customer.list', 'us', 'crm-us'), brokenRoute('customer.list', 'apac', 'crm-apac'),
    ]);
    assert.equal(before.ambiguousCapabilities, undefined);
    const eu = await problemOf(await query('customer.get', { id: '42', region: 'eu' }), 503);
    assert.equal(eu.code, 'CONNECTOR_UNAVAILABLE', 'a region whose CRM is missing is not served by another');
    assert.match(eu.detail, /customer\.get for region "eu" goes to connector crm-eu, which is not loaded/);
    assert.equal(await servedBy('customer.get', { id: '42', region: 'mars' }), 'crm-python');
    assert.equal(await proxiedBy(), 'crm-python', 'the owner of the crm system is not loaded yet');

    const warnings = await installCrm('crm-eu');
    assert.deepEqual(warnings.map((w) => [w.code, w.capability, w.route, w.connector, w.reason]), [
      ['CAPABILITY_ROUTE_BROKEN', 'customer.get', 'us', 'crm-us', 'not_loaded'],
      ['CAPABILITY_ROUTE_BROKEN', 'customer.list', 'us', 'crm-us', 'not_loaded'],
      ['CAPABILITY_ROUTE_BROKEN', 'customer.list', 'apac', 'crm-apac', 'not_loaded'],
    ]);
    assert.match(warnings[0]!.message, /customer\.get for region "us" goes to crm-us, which is not loaded/);
  });

  test('with both CRMs installed each region is served by its own, another region or none by the default, and the routing shows', async () => {
    // crm-us reads customer.list's region itself (its backend spells regions in capitals): it declares the param.
    const warnings = await installCrm('crm-us', (s) => s.replace("email: { type: 'string', minLength: 3 },", "email: { type: 'string', minLength: 3 }, region: { const: 'US' },"));
    assert.deepEqual(warnings.map((w) => [w.code, w.capability, w.route]), [['CAPABILITY_ROUTE_BROKEN', 'customer.list', 'apac']]);

    assert.deepEqual(await shared(), [
      { capability: 'customer.get', connectors: ['crm-eu', 'crm-python', 'crm-us'], servedBy: 'crm-python', routing: GET_ROUTING, ambiguous: false },
      {
        capability: 'customer.list', connectors: ['crm-eu', 'crm-python', 'crm-us'], servedBy: 'crm-eu', routing: LIST_ROUTING,
        routeProblems: [{ route: 'apac', connector: 'crm-apac', reason: 'not_loaded' }], ambiguous: false,
      },
    ]);
    const ready = await readiness();
    assert.equal(ready.status, 'degraded');
    assert.deepEqual(ready.brokenRoutes, [brokenRoute('customer.list', 'apac', 'crm-apac')]);

    assert.equal(await servedBy('customer.get', { id: '42', region: 'eu' }), 'crm-eu', 'the region param is removed before crm-eu (additionalProperties: false) sees it');
    assert.equal(await servedBy('customer.get', { id: '42', region: 'us' }), 'crm-us');
    assert.equal(await servedBy('customer.get', { id: '42', region: 'mars' }), 'crm-python', 'a region with no route goes to the default');
    assert.equal(await servedBy('customer.get', { id: '42' }), 'crm-python', 'no region: the default');
    const rest = await gw.api('/v1/customers/42');
    assert.equal(((await rest.json()) as { source: { connector: string } }).source.connector, 'crm-python', 'the REST route has no region: the default');

    assert.equal(await proxiedBy(), 'crm-eu', 'the owner of the crm system serves its proxy');

    assert.equal(await servedBy('customer.list', { email: 'route-eu@example.invalid', region: 'eu' }), 'crm-eu');
    const kept = await problemOf(await query('customer.list', { pageSize: 1, region: 'us' }), 400);
    assert.equal(kept.code, 'VALIDATION_FAILED', 'crm-us declares region: it gets the param, and its schema checks it');
    assert.deepEqual(kept.errors?.map((e) => e.pointer), ['/params/region']);
  });

  test('a call that picks no route of a capability without a default is refused with NO_ROUTE, and nothing is called', async () => {
    for (const params of [{ email: 'route-none@example.invalid' }, { email: 'route-none@example.invalid', region: 'mars' }]) {
      const refused = await problemOf(await query('customer.list', params), 400);
      assert.equal(refused.code, 'NO_ROUTE');
      assert.equal(refused.capability, 'customer.list');
      assert.equal(refused.param, 'region');
      assert.deepEqual(refused.known, ['eu', 'us', 'apac']);
    }
    const paths = await backendPaths();
    assert.ok(paths.some((p) => p.includes('route-eu')), 'the backend log shows the routed call');
    assert.ok(!paths.some((p) => p.includes('route-none')), 'no connector called the backend for a refused call');

    const apac = await problemOf(await query('customer.list', { region: 'apac' }), 503);
    assert.equal(apac.code, 'CONNECTOR_UNAVAILABLE');
    assert.equal(apac.connector, 'crm-apac');
  });

  test('removing a routed CRM warns of the routes it breaks; its region is then refused, not served by another', async () => {
    const res = await admin('/connectors/crm-us', { method: 'DELETE' });
    assert.equal(res.status, 200);
    const outcome = (await assertMatchesSpec(res, 'removeConnector')) as { warnings?: Warning[] };
    assert.deepEqual(outcome.warnings?.map((w) => [w.capability, w.route, w.connector]), [['customer.get', 'us', 'crm-us'], ['customer.list', 'us', 'crm-us'], ['customer.list', 'apac', 'crm-apac']]);
    assert.equal((await problemOf(await query('customer.get', { id: '42', region: 'us' }), 503)).code, 'CONNECTOR_UNAVAILABLE');
    assert.equal(await servedBy('customer.get', { id: '42', region: 'eu' }), 'crm-eu');
    assert.deepEqual((await readiness()).brokenRoutes, [brokenRoute('customer.get', 'us', 'crm-us'), brokenRoute('customer.list', 'us', 'crm-us'), brokenRoute('customer.list', 'apac', 'crm-apac')]);
  });
});
