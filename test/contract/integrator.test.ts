// Issue 12's check, end to end, as an integrator goes: a connector for a backend Omnigate has never
// seen (json-server, third-party software nobody here wrote, with a context path in its baseUrl),
// scaffolded in a folder outside the repository, depending on the packed SDK, tested from its own
// folder (conformance through the kit's fault proxy, contract recorded and verified), then packed
// and installed into a running gateway through the admin API and configured at run time. Nothing
// in the repository changes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { scratchDir } from '../support/connector-packages.ts';
import { ROOT_DIR, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startJsonServer, type JsonServer } from '../support/json-server.ts';
import { port } from '../support/ports.ts';
import { assertMatchesSpec } from '../support/spec.ts';

const NAME = 'shop-api';
const ENV_NAME = 'SHOP_API';
const FIXTURE_DIR = join(ROOT_DIR, 'test/fixtures/integrator/connector');
/** The fixture keeps its tests as `*.test.fixture.ts` so the repository's own run skips them. */
const FIXTURE_TEST_SUFFIX = '.test.fixture.ts';
const ADMIN_KEY = 'admin-key-integrator-0123456789';
/** Bounds every step: an npm install from the cache, a test run, a build. */
const STEP_TIMEOUT_MS = 240_000;

interface Run {
  readonly code: number | null;
  readonly output: string;
  readonly ms: number;
}

/**
 * Runs a command as an integrator would in a shell: Node 24 first on PATH (the kit's bin runs
 * `node`), none of this test runner's or npm's own variables, so a nested `node --test` or npm
 * behaves as it does for them.
 */
function run(command: string, args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'NODE_TEST_CONTEXT' && key !== 'NODE_OPTIONS' && !key.startsWith('npm_') && !key.startsWith('OMNIGATE_CONNECTOR_')));
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...inherited, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output, ms: Date.now() - started }));
  });
}

const gitStatus = async (): Promise<string> => {
  const status = await run('git', ['status', '--porcelain', '--untracked-files=all'], ROOT_DIR);
  assert.equal(status.code, 0, status.output);
  return status.output;
};

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) => {
    const path = prefix ? `${prefix}/${e.name}` : e.name;
    return e.isDirectory() ? (e.name === 'node_modules' ? [] : listFiles(dir, path)) : [path];
  });
}

/** Node's test output (its spec reporter): the names of the tests that passed and failed. */
function testResults(output: string): { passed: string[]; failed: string[] } {
  const names = (mark: string) => [...new Set([...output.matchAll(new RegExp(`^\\s*${mark} (.+?) \\([\\d.]+ms\\)$`, 'gm'))].map((m) => m[1]!))];
  return { passed: names('✔'), failed: names('✖') };
}

let repoBefore: string;
let workDir: string;
let connectorDir: string;
let shop: JsonServer;
let sdkTarball: string;
const timings: Record<string, number> = {};
const connectorEnv = () => ({ [`OMNIGATE_CONNECTOR_${ENV_NAME}_BASE_URL`]: shop.url });

before(async () => {
  repoBefore = await gitStatus();
  // Outside the repository: nothing there can resolve `omnigate` from the repository's node_modules.
  workDir = mkdtempSync(join(tmpdir(), 'omnigate-integrator-'));
  connectorDir = join(workDir, NAME);
  shop = await startJsonServer({ db: join(ROOT_DIR, 'test/fixtures/integrator/db.json'), contextPath: '/shop/api' });
});

after(async () => {
  await shop?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  process.stdout.write(`# integrator steps (ms): ${JSON.stringify(timings)}\n`);
});

describe('an integrator connects a backend Omnigate has never seen, from a folder outside the repository', { timeout: 15 * STEP_TIMEOUT_MS }, () => {
  test('npm run sdk:pack builds the SDK as a tarball an integrator installs', { timeout: STEP_TIMEOUT_MS }, async () => {
    const started = Date.now();
    const packed = await run('npm', ['run', '-s', 'sdk:pack'], ROOT_DIR);
    timings.sdkPack = packed.ms;
    assert.equal(packed.code, 0, packed.output);
    const { version } = JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as { version: string };
    sdkTarball = join(ROOT_DIR, '.packs', `omnigate-${version}.tgz`);
    assert.ok(existsSync(sdkTarball) && statSync(sdkTarball).mtimeMs >= started - 1_000, `${relative(ROOT_DIR, sdkTarball)} is written`);
    assert.ok(packed.output.includes(sdkTarball) || packed.output.includes(relative(ROOT_DIR, sdkTarball)), `it prints the tarball's path:\n${packed.output}`);
  });

  test("the scaffold generates the connector outside the repository, the integrator's sources replace its sample, the SDK tarball is installed", { timeout: STEP_TIMEOUT_MS }, async () => {
    const scaffolded = await run(process.execPath, [join(ROOT_DIR, 'scripts/connector-new.ts'), NAME, '--dir', workDir], ROOT_DIR);
    timings.scaffold = scaffolded.ms;
    assert.equal(scaffolded.code, 0, scaffolded.output);
    const pkg = JSON.parse(readFileSync(join(connectorDir, 'package.json'), 'utf8')) as { name: string; scripts?: Record<string, string> };
    assert.equal(pkg.name, `@omnigate/connector-${NAME}`);
    assert.equal(pkg.scripts?.test, 'omnigate-connector test');
    assert.equal(pkg.scripts?.contract, 'omnigate-connector contract');

    // The integrator's edits: the sample contacts API's files go, theirs come in.
    const theirs = listFiles(FIXTURE_DIR).map((file) => file.replace(FIXTURE_TEST_SUFFIX, '.test.ts'));
    const sample = listFiles(connectorDir).filter((file) => /^(src|test)\//.test(file) && !theirs.includes(file));
    for (const file of sample) rmSync(join(connectorDir, file));
    for (const file of listFiles(FIXTURE_DIR)) cpSync(join(FIXTURE_DIR, file), join(connectorDir, file.replace(FIXTURE_TEST_SUFFIX, '.test.ts')));
    writeFileSync(join(connectorDir, 'package.json'), JSON.stringify({ ...pkg, description: "Omnigate connector for the shop's REST API: customers and orders (no auth)." }, null, 2));
    assert.ok(sample.includes('src/operations/get-contact.ts'), `the sample's operation was replaced: ${sample.join(', ')}`);

    // Beside the SDK (the scaffold already lists Pact, for the contract): TypeScript and Node's
    // types to typecheck, at the versions the repository uses (in npm's cache).
    const devTools = ['typescript', '@types/node'].map((name) => `${name}@${(JSON.parse(readFileSync(join(ROOT_DIR, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version}`);
    const installed = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '-D', sdkTarball, ...devTools], connectorDir);
    timings.npmInstall = installed.ms;
    assert.equal(installed.code, 0, installed.output);
    assert.ok(existsSync(join(connectorDir, 'node_modules/omnigate/package.json')), 'omnigate is installed from the tarball');
    assert.ok(existsSync(join(connectorDir, 'node_modules/@pact-foundation/pact/package.json')), 'and Pact, which the scaffold lists');
    for (const file of listFiles(connectorDir).filter((f) => f.endsWith('.ts'))) {
      const imports = [...readFileSync(join(connectorDir, file), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
      const allowed = (specifier: string) => specifier.startsWith('.') || specifier.startsWith('node:') || /^omnigate\/sdk(\/testing)?$/.test(specifier);
      for (const specifier of imports) assert.ok(allowed(specifier), `${file} imports ${specifier}: only omnigate/sdk, omnigate/sdk/testing, node: and its own files`);
    }
  });

  test("the integrator's TypeScript typechecks against the SDK's type declarations, which catch a wrong call", { timeout: STEP_TIMEOUT_MS }, async () => {
    const checked = await run(join(connectorDir, 'node_modules/.bin/tsc'), ['-p', '.'], connectorDir);
    timings.typecheck = checked.ms;
    assert.equal(checked.code, 0, checked.output);
    const wrong = join(connectorDir, 'src/wrong.ts');
    writeFileSync(wrong, "import { money } from 'omnigate/sdk';\nexport const price = money(12.3, 'EUR');\n");
    try {
      const refused = await run(join(connectorDir, 'node_modules/.bin/tsc'), ['-p', '.'], connectorDir);
      assert.notEqual(refused.code, 0, refused.output);
      assert.match(refused.output, /src\/wrong\.ts.*TS2345.*'number'.*'string'/, 'money() takes its amount as a string, as its declaration says');
    } finally {
      rmSync(wrong);
    }
  });

  test('npm test runs the mapper tests and the conformance suite against the real backend, faults through the kit proxy', { timeout: STEP_TIMEOUT_MS }, async (t) => {
    const tested = await run('npm', ['test'], connectorDir, connectorEnv());
    timings.npmTest = tested.ms;
    assert.equal(tested.code, 0, tested.output);
    const { passed, failed } = testResults(tested.output);
    assert.deepEqual(failed, []);
    for (const mapperTest of ['maps a recorded shop customer to a schema-valid canonical Customer with only what the shop knows', 'maps a recorded shop order to a schema-valid canonical Order']) {
      assert.ok(passed.includes(mapperTest), `the mapper test "${mapperTest}" ran:\n${tested.output}`);
    }
    const conformance = passed.filter((name) => name.startsWith(`${NAME}: `));
    // Faults json-server cannot make: only the kit's proxy in front of it can have injected them.
    const faultChecks = conformance.filter((name) => /drops connections|5xx|garbage|hangs/.test(name));
    for (const capability of ['customer.get', 'order.get']) {
      for (const fault of ['drops connections', '5xx', 'garbage', 'hangs']) {
        assert.ok(faultChecks.some((name) => name.includes(capability) && name.includes(fault)), `the ${fault} check of ${capability} ran and passed:\n${tested.output}`);
      }
    }
    assert.ok(conformance.length >= 15, `the conformance suite ran (${conformance.length} checks):\n${tested.output}`);
    t.diagnostic(`npm test: ${passed.length} passed, of them ${conformance.length} conformance checks, ${faultChecks.length} with a fault injected`);
  });

  test('npm test fails, naming the failing checks, when a mapper breaks the canonical model', { timeout: STEP_TIMEOUT_MS }, async () => {
    const mapper = join(connectorDir, 'src/mappers/to-customer.ts');
    const original = readFileSync(mapper, 'utf8');
    // A slip an integrator makes: the display name under the backend's word for it.
    const broken = original.replace('displayName: name,', 'name,');
    assert.notEqual(broken, original);
    writeFileSync(mapper, broken);
    try {
      const tested = await run('npm', ['test'], connectorDir, connectorEnv());
      assert.notEqual(tested.code, 0, tested.output);
      const { passed, failed } = testResults(tested.output);
      assert.ok(failed.includes(`${NAME}: customer.get answers data valid against the canonical Customer schema`), `the conformance check fails, by name:\n${tested.output}`);
      assert.ok(failed.includes('maps a recorded shop customer to a schema-valid canonical Customer with only what the shop knows'), 'so does the mapper test');
      assert.ok(passed.includes(`${NAME}: order.get answers data valid against the canonical Order schema`), 'the other mapper still passes its check');
      assert.match(tested.output, /displayName/, 'the failure names the missing field');
    } finally {
      writeFileSync(mapper, original);
    }
  });

  test('npm run contract records the contract with the context path and verifies it against the real backend', { timeout: STEP_TIMEOUT_MS }, async () => {
    // The verifier's fixed port, moved by this run's offset like every other test port.
    const contracted = await run('npm', ['run', 'contract'], connectorDir, { ...connectorEnv(), OMNIGATE_PACT_VERIFIER_PORT: String(port(29_300)) });
    timings.npmContract = contracted.ms;
    assert.equal(contracted.code, 0, contracted.output);
    const file = join(connectorDir, 'contracts', `${NAME}-shop.json`);
    assert.ok(existsSync(file), `contracts/${NAME}-shop.json is written:\n${contracted.output}`);
    const pact = JSON.parse(readFileSync(file, 'utf8')) as { interactions: { request: { path: string } }[] };
    assert.ok(pact.interactions.length >= 2);
    for (const { request } of pact.interactions) assert.match(request.path, /^\/shop\/api\//, 'the recorded path keeps baseUrl\'s context path');
    assert.match(contracted.output, new RegExp(`verified contracts/${NAME}-shop\\.json against ${shop.origin}: 3 interaction\\(s\\)`), 'verified against the real backend');
  });

  test('npm pack, installed into a running gateway through the admin API and configured at run time, serves canonical answers through the query API', { timeout: STEP_TIMEOUT_MS }, async () => {
    const packed = await run('npm', ['pack', '--pack-destination', workDir], connectorDir);
    assert.equal(packed.code, 0, packed.output);
    const tarball = join(workDir, `omnigate-connector-${NAME}-0.1.0.tgz`);
    assert.ok(existsSync(tarball), packed.output);

    const dir = scratchDir('integrator');
    const started = Date.now();
    let gw: TestGateway | undefined;
    try {
      gw = await startTestGateway({
        OMNIGATE_CONNECTORS_DIR: join(dir, 'connectors'),
        OMNIGATE_ADMIN_KEYS: `ops:${ADMIN_KEY}`,
        OMNIGATE_AUDIT_FILE: join(dir, 'audit.jsonl'),
        OMNIGATE_PACKAGE_STORE_DIR: join(dir, '.store'),
      });
      const admin = (path: string, init: RequestInit = {}) => fetch(`${gw!.url}/v1/admin${path}`, { ...init, headers: { 'x-api-key': ADMIN_KEY, ...init.headers } });
      const body = new Uint8Array(readFileSync(tarball));
      // Installed without its config (the gateway's environment has none for it): kept, not serving.
      const install = await admin(`/connectors/${NAME}`, { method: 'PUT', headers: { 'content-type': 'application/gzip' }, body });
      const refused = (await assertMatchesSpec(install, 'installConnector')) as { code: string; stage: string };
      assert.deepEqual([install.status, refused.code, refused.stage], [409, 'LIFECYCLE_FAILED', 'config'], JSON.stringify(refused));
      const unconfigured = await gw.api('/v1/customers/1');
      assert.equal(unconfigured.status, 503);
      assert.equal(((await unconfigured.json()) as { code: string }).code, 'CONNECTOR_NOT_CONFIGURED');

      // Configured at run time: the same gateway, no restart.
      const configured = await admin(`/connectors/${NAME}/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config: { baseUrl: shop.url } }) });
      const outcome = (await assertMatchesSpec(configured, 'setConnectorConfig')) as { action: string; result: string; to: string };
      assert.equal(configured.status, 200, JSON.stringify(outcome));
      assert.deepEqual([outcome.action, outcome.result, outcome.to], ['configure', 'ok', '0.1.0']);
      const view = (await assertMatchesSpec(await admin(`/connectors/${NAME}/config`), 'getConnectorConfig')) as { config: unknown; sources: unknown };
      assert.deepEqual([view.config, view.sources], [{ baseUrl: shop.url }, { baseUrl: 'runtime' }]);

      const customer = await gw.api('/v1/customers/1');
      const answer = (await assertMatchesSpec(customer, 'getCustomer')) as { data: Record<string, unknown>; source: { connector: string; system: string } };
      assert.equal(customer.status, 200, JSON.stringify(answer));
      assert.deepEqual(answer.data, { id: '1', displayName: 'Ada Lovelace', attributes: { city: 'London', loyaltyPoints: 1250, newsletter: true, memberSince: '2021-03-04' } });
      assert.deepEqual([answer.source.connector, answer.source.system], [NAME, 'shop']);
      const order = (await assertMatchesSpec(await gw.api('/v1/orders/103'), 'getOrder')) as { data: Record<string, unknown> };
      assert.deepEqual([order.data.status, order.data.sourceStatus, order.data.total], ['pending', 'NEW', { amount: '59.97', currency: 'USD' }]);
      assert.equal((await gw.api('/v1/customers/999999')).status, 404);
      timings.gateway = Date.now() - started;
    } finally {
      await gw?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('nothing in the repository changed', async () => {
    assert.equal(await gitStatus(), repoBefore);
  });
});
