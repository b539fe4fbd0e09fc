import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { c as createTar } from 'tar';
import { isAppError } from '../../kernel/errors.ts';
import { createSchemaRegistry } from '../../kernel/schemas.ts';
import { startTrace } from '../../kernel/trace.ts';
import { createPackageStore } from './package-store.ts';
import { createConnectorRegistry } from './registry.ts';
import type { LifecycleOutcome } from './registry.types.ts';

// The real registry, each version in its worker thread, over a connector written to a scratch
// folder below the repository (so that `omnigate/sdk` resolves there). No backend: the connector
// answers from its own code.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const scratch = join(ROOT, '.data', `registry-unit-${process.pid}-${Date.now()}`);
after(() => rmSync(scratch, { recursive: true, force: true }));

function writeConnector(dir: string, version: string, healthy = true, businessKeys = "[{ type: 'customer', path: 'id' }]"): void {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: '@omnigate/connector-echo', version, type: 'module', main: './src/index.ts', omnigate: { connector: true } }));
  writeFileSync(join(dir, 'src/index.ts'), `import { apiKeyAuth, defineConnector } from 'omnigate/sdk';
const connector = defineConnector({
  manifest: {
    name: 'echo', version: '${version}', system: 'echo', description: 'answers from its own code',
    configSchema: { type: 'object', required: ['baseUrl'], properties: { baseUrl: { type: 'string' } } },
    capabilities: [{ name: 'customer.get', kind: 'query', description: 'a customer', params: { type: 'object', properties: { id: { type: 'string' } } }, result: 'Customer', businessKeys: [{ type: 'customer', path: 'id' }] }],
  },
  async auth() { return apiKeyAuth({ header: 'x-api-key', value: 'k' }); },
  queries: { 'customer.get': async (params) => ({ version: '${version}', params }) },
  async health() { return ${healthy ? "{ ok: true }" : "{ ok: false, detail: 'backend says no' }"}; },
});
// Changed after defineConnector checked it: what the registry's own manifest check sees.
connector.manifest.capabilities[0].businessKeys = ${businessKeys};
export default connector;
`);
}

function startRegistry(name: string, connectorEnv: Record<string, string> = { ECHO_BASE_URL: 'http://127.0.0.1:9' }) {
  const dir = join(scratch, name);
  const connectorsDir = join(dir, 'connectors');
  writeConnector(join(connectorsDir, 'echo'), '1.0.0');
  const changes: LifecycleOutcome[] = [];
  const registry = createConnectorRegistry({
    log: pino({ level: 'silent' }), connectorsDir, connectorEnv,
    schemas: createSchemaRegistry(join(ROOT, 'schemas')), store: createPackageStore(join(dir, 'store')),
    drainTimeoutMs: 1_000, retryMinMs: 10, retryMaxMs: 20, restartResetMs: 60_000, onChange: (outcome) => changes.push(outcome),
  });
  return { registry, changes, folder: join(connectorsDir, 'echo') };
}
const callOf = (capability: string, params: Record<string, unknown>) => ({ kind: 'query' as const, capability, params, trace: startTrace(undefined, 'unit'), logBindings: {} });

test('loads a connector folder, routes its capability and runs a call in its worker under a lease', async () => {
  const { registry } = startRegistry('start');
  try {
    await registry.start();
    assert.equal(registry.get('echo')?.state, 'ready');
    assert.equal(registry.route('customer.get')?.name, 'echo');
    assert.equal(registry.route('order.get'), undefined);
    const lease = registry.lease('echo');
    try {
      assert.deepEqual(await lease.version.host.call(callOf('customer.get', { id: '7' }), new AbortController().signal), { version: '1.0.0', params: { id: '7' } });
    } finally {
      lease.release();
    }
  } finally {
    await registry.close();
  }
});

test('a reload whose new version fails its health check keeps the old one serving and says why', async () => {
  const { registry, changes, folder } = startRegistry('unhealthy');
  try {
    await registry.start();
    writeConnector(folder, '2.0.0', false);
    const outcome = await registry.reload('echo');
    assert.equal(outcome.result, 'failed');
    assert.equal(outcome.problem?.stage, 'health');
    assert.equal(registry.get('echo')?.active?.version, '1.0.0');
    assert.equal(changes.at(-1)?.result, 'failed');
  } finally {
    await registry.close();
  }
});

test('a reload to a healthy version swaps it in; removing the connector leaves nothing to lease', async () => {
  const { registry, changes, folder } = startRegistry('swap');
  try {
    await registry.start();
    writeConnector(folder, '1.1.0');
    const outcome = await registry.reload('echo');
    assert.deepEqual({ result: outcome.result, from: outcome.from, to: outcome.to }, { result: 'ok', from: '1.0.0', to: '1.1.0' });
    assert.equal(registry.get('echo')?.active?.version, '1.1.0');
    assert.equal((await registry.remove('echo')).result, 'ok');
    assert.throws(() => registry.lease('echo'), (err: unknown) => isAppError(err) && err.code === 'CONNECTOR_UNAVAILABLE');
    assert.deepEqual(changes.map((c) => `${c.action}:${c.result}`), ['start:ok', 'reload:ok', 'remove:ok']);
  } finally {
    await registry.close();
  }
});

test("a version whose manifest declares a malformed business key is refused at the manifest stage; the old one keeps serving", async () => {
  const { registry, folder } = startRegistry('keys');
  try {
    await registry.start();
    assert.deepEqual(registry.get('echo')?.active?.manifest.capabilities[0]?.businessKeys, [{ type: 'customer', path: 'id' }]);
    writeConnector(folder, '2.0.0', true, "[{ type: 'Customer', path: 'lines.[]' }]");
    const outcome = await registry.reload('echo');
    assert.equal(outcome.result, 'failed');
    assert.equal(outcome.problem?.stage, 'manifest');
    assert.match(outcome.problem?.message ?? '', /businessKeys/, outcome.problem?.message);
    assert.equal(registry.get('echo')?.active?.version, '1.0.0');
  } finally {
    await registry.close();
  }
});

test('a connector missing a required setting answers a problem that is not retryable and names the setting', async () => {
  const { registry } = startRegistry('unconfigured', {});
  try {
    await registry.start();
    assert.equal(registry.get('echo')?.problem?.stage, 'config');
    assert.throws(() => registry.lease('echo'), (err: unknown) => {
      assert.ok(isAppError(err));
      assert.equal(err.code, 'CONNECTOR_NOT_CONFIGURED');
      assert.equal(err.retryable, false, 'no retry sets a missing setting');
      assert.match(err.message, /OMNIGATE_CONNECTOR_ECHO_BASE_URL/);
      return true;
    });
  } finally {
    await registry.close();
  }
});

/** `npm pack`-shaped tarball of the echo connector at `version`, its package.json edited by `edit`. */
async function tarballOf(dir: string, version: string, edit: (pkg: Record<string, unknown>) => void): Promise<Buffer> {
  writeConnector(dir, version);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  edit(pkg);
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg));
  const chunks: Buffer[] = [];
  for await (const chunk of createTar({ gzip: true, cwd: dir, prefix: 'package/', portable: true }, ['.']) as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

test('an install whose package.json and manifest disagree on version or name is refused, naming the field and both values', async () => {
  const { registry } = startRegistry('agree');
  try {
    await registry.start();
    const upload = join(scratch, 'agree', 'upload');
    const badVersion = await registry.install('echo', await tarballOf(upload, '2.0.0', (pkg) => (pkg.version = '2.0.1')));
    assert.equal(badVersion.result, 'failed');
    assert.equal(badVersion.problem?.stage, 'manifest');
    assert.match(badVersion.problem?.message ?? '', /version/);
    assert.match(badVersion.problem?.message ?? '', /2\.0\.1/);
    assert.match(badVersion.problem?.message ?? '', /2\.0\.0/);
    const badName = await registry.install('echo', await tarballOf(upload, '2.0.0', (pkg) => (pkg.name = '@omnigate/connector-other')));
    assert.equal(badName.result, 'failed');
    assert.equal(badName.problem?.stage, 'manifest');
    assert.match(badName.problem?.message ?? '', /name/);
    assert.match(badName.problem?.message ?? '', /@omnigate\/connector-other/);
    assert.match(badName.problem?.message ?? '', /echo/);
    assert.equal(registry.get('echo')?.active?.version, '1.0.0', 'the old version keeps serving');
    const good = await registry.install('echo', await tarballOf(upload, '2.0.0', () => {}));
    assert.deepEqual({ result: good.result, to: good.to }, { result: 'ok', to: '2.0.0' });
  } finally {
    await registry.close();
  }
});
