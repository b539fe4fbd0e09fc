import assert from 'node:assert/strict';
import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyConnector, namePackage, packTarball, scratchDir, settingsAs } from '../support/connector-packages.ts';
import { ROOT_DIR, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { assertMatchesSpec } from '../support/spec.ts';

const ADMIN_KEY = 'admin-key-0123456789abcdef';
const BOTH = ['crm-python', 'crm-second'];
let dir: string;
let gw: TestGateway;

before(async () => {
  dir = scratchDir('capability-owners');
  symlinkSync(join(ROOT_DIR, 'connectors/crm-python'), join(dir, 'crm-python'));
  gw = await startTestGateway({
    OMNIGATE_CONNECTORS_DIR: dir,
    OMNIGATE_ADMIN_KEYS: `ops:${ADMIN_KEY}`,
    OMNIGATE_AUDIT_FILE: join(dir, 'audit.jsonl'),
    OMNIGATE_PACKAGE_STORE_DIR: join(dir, '.store'),
    // customer.list is owned by the second CRM; customer.get has no owner.
    OMNIGATE_CAPABILITY_OWNERS: JSON.stringify({ 'customer.list': 'crm-second' }),
    // The second CRM (a copy of crm-python under another name) reaches the same backend.
    ...settingsAs('crm-python', 'crm-second'),
  });
});
after(async () => {
  await gw?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const admin = (path: string, init: RequestInit = {}) => fetch(`${gw.url}/v1/admin${path}`, { ...init, headers: { 'x-api-key': ADMIN_KEY, ...init.headers } });
const installSecondCrm = async () => {
  const folder = namePackage(copyConnector('crm-python', scratchDir('pkg'), '1.0.0', (source) => source.replace("name: 'crm-python'", "name: 'crm-second'")), 'crm-second');
  const tarball = await packTarball(folder);
  rmSync(join(folder, '..'), { recursive: true, force: true });
  return admin('/connectors/crm-second', { method: 'PUT', headers: { 'content-type': 'application/gzip' }, body: new Uint8Array(tarball) });
};
type Shared = { capability: string; connectors: string[]; servedBy: string; owner?: string; ambiguous: boolean };
const shared = async (): Promise<Shared[]> => ((await assertMatchesSpec(await gw.api('/v1/connectors'), 'listConnectors')) as { sharedCapabilities: Shared[] }).sharedCapabilities;
const readiness = async () => (await assertMatchesSpec(await fetch(`${gw.url}/readyz`), 'readiness')) as { status: string; ambiguousCapabilities?: { capability: string; connectors: string[]; servedBy: string }[] };
const servedBy = async (path: string) => {
  const res = await gw.api(path);
  assert.equal(res.status, 200, path);
  return ((await res.json()) as { source: { connector: string } }).source.connector;
};

describe('two connectors declaring the same capabilities', () => {
  test('installing a second CRM warns of the capability it shares without an owner; the configured owner serves its capability', async () => {
    assert.equal((await readiness()).status, 'ready');
    assert.deepEqual(await shared(), []);

    const res = await installSecondCrm();
    assert.equal(res.status, 200);
    const outcome = (await assertMatchesSpec(res, 'installConnector')) as { result: string; warnings?: { code: string; capability: string; connectors: string[]; servedBy: string; message: string }[] };
    assert.equal(outcome.result, 'ok');
    assert.equal(outcome.warnings?.length, 1, 'one warning: customer.list has an owner');
    const [warning] = outcome.warnings!;
    assert.equal(warning!.code, 'CAPABILITY_AMBIGUOUS');
    assert.equal(warning!.capability, 'customer.get');
    assert.deepEqual(warning!.connectors, BOTH);
    assert.equal(warning!.servedBy, 'crm-python', 'the connector that was there first keeps serving');
    assert.match(warning!.message, /customer\.get.*crm-python.*crm-second.*OMNIGATE_CAPABILITY_OWNERS/);

    assert.deepEqual(await shared(), [
      { capability: 'customer.get', connectors: BOTH, servedBy: 'crm-python', ambiguous: true },
      { capability: 'customer.list', connectors: BOTH, servedBy: 'crm-second', owner: 'crm-second', ambiguous: false },
    ]);
    const ready = await readiness();
    assert.equal(ready.status, 'degraded');
    assert.deepEqual(ready.ambiguousCapabilities, [{ capability: 'customer.get', connectors: BOTH, servedBy: 'crm-python' }]);

    assert.equal(await servedBy('/v1/customers/42'), 'crm-python', 'no owner: calls keep going to the first connector');
    assert.equal(await servedBy('/v1/customers?pageSize=2'), 'crm-second', 'the configured owner serves');

    // A reload of either says it again.
    const reloaded = (await assertMatchesSpec(await admin('/connectors/crm-python/reload', { method: 'POST' }), 'reloadConnector')) as { warnings?: { capability: string }[] };
    assert.deepEqual(reloaded.warnings?.map((w) => w.capability), ['customer.get']);

    assert.equal((await admin('/connectors/crm-second', { method: 'DELETE' })).status, 200);
    assert.deepEqual(await shared(), []);
    const after = await readiness();
    assert.equal(after.status, 'ready');
    assert.equal(after.ambiguousCapabilities, undefined);
    assert.equal(await servedBy('/v1/customers?pageSize=3'), 'crm-python', 'an owner that is not installed leaves the capability to the connector that declares it');
  });
});
