// `npm run connector:new`: what it generates must be a working connector on the first run.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createAjv, createSchemaRegistry } from '../../src/kernel/schemas.ts';
import { secretFields } from '../../src/modules/connectors/connector-config.ts';
import { MANIFEST_SCHEMA } from '../../src/modules/connectors/manifest.schema.ts';
import { isConnector } from '../../src/sdk/define-connector.ts';
import { ROOT_DIR } from '../support/gateway.ts';
import { freePort } from '../support/ports.ts';

const SCRIPT = join(ROOT_DIR, 'scripts/connector-new.ts');
const NAME = 'acme-contacts';
const EXPECTED_FILES = [
  'README.md',
  'package.json',
  'src/config.ts',
  'src/fixtures/contact.json',
  'src/index.ts',
  'src/mappers/to-customer.test.ts',
  'src/mappers/to-customer.ts',
  'src/operations/get-contact.ts',
  'test/conformance.test.ts',
  'test/contact.contract.test.ts',
  'test/provider-states.ts',
];
const CLI = join(ROOT_DIR, 'src/sdk/testing/cli.ts');
const ROOT_PACKAGE = JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
const ROOT_VERSION = ROOT_PACKAGE.version;
const ROOT_DEV_DEPENDENCIES = ROOT_PACKAGE.devDependencies;

// Under .data/ so that `omnigate/sdk` resolves from the generated package (node_modules/omnigate).
let connectorsDir: string;
let target: string;
let generated: ReturnType<typeof scaffold>;

/** Runs the script as `npm run connector:new` does; the child must not think it is one of our tests. */
function scaffold(...args: string[]) {
  const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
  return spawnSync(process.execPath, [SCRIPT, ...args], { cwd: ROOT_DIR, encoding: 'utf8', env });
}

const read = (file: string): string => readFileSync(join(target, file), 'utf8');

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(dir, prefix ? `${prefix}/${e.name}` : e.name) : [prefix ? `${prefix}/${e.name}` : e.name],
  );
}

before(() => {
  mkdirSync(join(ROOT_DIR, '.data'), { recursive: true });
  connectorsDir = mkdtempSync(join(ROOT_DIR, '.data/scaffold-'));
  target = join(connectorsDir, NAME);
  generated = scaffold(NAME, '--dir', connectorsDir);
});
after(() => rmSync(connectorsDir, { recursive: true, force: true }));

const CONTEXT_PATH = '/acme/api';
const API_KEY = 'scaffold-test-key';

/**
 * A stand-in for the contacts API the template assumes (the run's backends have none), under a
 * context path: replays the recorded reply for the right key, 401 for another, 404 for other ids.
 */
async function startContactsBackend(fixture: string) {
  const seen: { url: string; key: unknown }[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', key: req.headers['x-api-key'] });
    const [status, body] =
      req.url === `${CONTEXT_PATH}/health` ? [200, '{"status":"ok"}']
      : req.headers['x-api-key'] !== API_KEY ? [401, '{"error":"bad key"}']
      : req.url === `${CONTEXT_PATH}/v1/contacts/c_0042` ? [200, fixture]
      : [404, '{"error":"not found"}'];
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** `npm test` in the generated folder: the kit's CLI there, with `settings` as its only connector settings. */
function connectorTest(settings: Readonly<Record<string, string>>): Promise<{ status: number | null; output: string }> {
  return connectorCommand('test', settings, ['--test-reporter=spec']);
}

/** The kit's CLI in the generated folder (`npm test`, `npm run contract`), with `settings` as its only connector settings. */
function connectorCommand(command: string, settings: Readonly<Record<string, string>>, args: readonly string[] = []): Promise<{ status: number | null; output: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'NODE_TEST_CONTEXT' && !key.startsWith('OMNIGATE_CONNECTOR_')));
  // Not spawnSync: the stand-in backend answers from this process's event loop.
  const child = spawn(process.execPath, [CLI, command, ...args], { cwd: target, env: { ...env, ...settings } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, output })));
}

describe('connector scaffold', () => {
  test('generates every file of a connector package and prints the next steps', () => {
    assert.equal(generated.status, 0, generated.stderr);
    assert.deepEqual(listFiles(target).sort(), EXPECTED_FILES);
    for (const expected of ['OMNIGATE_CONNECTOR_ACME_CONTACTS_BASE_URL', 'OMNIGATE_CONNECTOR_ACME_CONTACTS_API_KEY', 'node --test', ': npm test', 'test/conformance.test.ts', '/v1/admin/connectors/acme-contacts/reload']) {
      assert.ok(generated.stdout.includes(expected), `the next steps should mention ${expected}:\n${generated.stdout}`);
    }
    // Testing a new connector changes nothing in the repository.
    assert.doesNotMatch(generated.stdout, /samples\.ts|backends\.ts/);
  });

  test('substitutes the name in kebab, camel, Pascal and UPPER_SNAKE case and leaves no token behind', () => {
    for (const file of EXPECTED_FILES) assert.doesNotMatch(read(file), /\{\{|\}\}/, `${file} still has a template token`);
    const pkg = JSON.parse(read('package.json')) as Record<string, unknown>;
    assert.equal(pkg.name, '@omnigate/connector-acme-contacts');
    assert.equal(pkg.type, 'module');
    assert.equal(pkg.main, './src/index.ts');
    assert.deepEqual(pkg.scripts, { test: 'omnigate-connector test', contract: 'omnigate-connector contract' });
    assert.deepEqual(pkg.devDependencies, { omnigate: `^${ROOT_VERSION}`, '@pact-foundation/pact': ROOT_DEV_DEPENDENCIES['@pact-foundation/pact'] }, 'the SDK, and Pact for npm run contract at the range the repository tests with');
    assert.deepEqual(pkg.peerDependencies, { omnigate: '*' });
    assert.deepEqual(pkg.peerDependenciesMeta, { omnigate: { optional: true } });
    assert.match(read('src/index.ts'), /const acmeContactsConnector = defineConnector<AcmeContactsConfig>/);
    assert.match(read('src/index.ts'), /name: 'acme-contacts'/);
    assert.match(read('src/config.ts'), /export interface AcmeContactsConfig/);
    assert.match(read('src/config.ts'), /OMNIGATE_CONNECTOR_ACME_CONTACTS_<FIELD>/);
    assert.match(read('README.md'), /^# acme-contacts$/m);
    assert.match(read('README.md'), /OMNIGATE_CONNECTOR_ACME_CONTACTS_API_KEY/);
    assert.match(read('test/conformance.test.ts'), /describeConformance\(\{/);
    assert.match(read('test/conformance.test.ts'), /'contact\.get': \{ valid: \{ id: 'c_0042' \}, unknown: /);
    // Only the SDK's public entry points: a connector folder needs nothing else of the repository.
    for (const file of EXPECTED_FILES.filter((f) => f.endsWith('.ts'))) {
      for (const [, from = ''] of read(file).matchAll(/from '([^']+)'/g)) {
        const inside = from.startsWith('.') && !relative(target, resolve(dirname(join(target, file)), from)).startsWith('..');
        assert.ok(inside || /^(node:|omnigate\/sdk(\/testing)?$)/.test(from), `${file} imports ${from}: only node:, omnigate/sdk, omnigate/sdk/testing and its own files`);
      }
    }
  });

  test('generates a mapper test that passes under node --test', () => {
    const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
    const run = spawnSync(process.execPath, ['--test', join(target, 'src/mappers/to-customer.test.ts')], { cwd: ROOT_DIR, encoding: 'utf8', env });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /^ℹ pass [1-9]\d*$/m);
    assert.match(run.stdout, /^ℹ fail 0$/m);
  });

  test('generates a connector whose manifest, params and config schema the registry accepts', async () => {
    const module = (await import(pathToFileURL(join(target, 'src/index.ts')).href)) as { default?: unknown };
    assert.ok(isConnector(module.default), 'the default export must be defineConnector({...})');
    const { manifest } = module.default;
    const ajv = createAjv({ coerceTypes: true, useDefaults: true });
    const validateManifest = ajv.compile(MANIFEST_SCHEMA);
    assert.ok(validateManifest(manifest), JSON.stringify(validateManifest.errors));
    assert.equal(manifest.name, NAME);
    assert.equal(manifest.version, (JSON.parse(read('package.json')) as { version: string }).version);
    const schemas = createSchemaRegistry(join(ROOT_DIR, 'schemas'));
    for (const capability of manifest.capabilities) {
      assert.doesNotThrow(() => schemas.validatorFor(capability.result));
      assert.doesNotThrow(() => createAjv({ useDefaults: true }).compile(capability.params));
    }
    assert.deepEqual(secretFields(manifest.configSchema), ['apiKey']);
    assert.equal(ajv.validate(manifest.configSchema, {}), false);
    assert.equal(ajv.validate(manifest.configSchema, { baseUrl: 'http://127.0.0.1:1', apiKey: 'k' }), true);
  });

  test('passes its own npm test (omnigate-connector test in its folder): mapper tests and the conformance suite, against a backend answering like its fixture under a context path', async () => {
    const backend = await startContactsBackend(read('src/fixtures/contact.json'));
    try {
      const run = await connectorTest({ OMNIGATE_CONNECTOR_ACME_CONTACTS_BASE_URL: `${backend.origin}${CONTEXT_PATH}`, OMNIGATE_CONNECTOR_ACME_CONTACTS_API_KEY: API_KEY });
      assert.equal(run.status, 0, run.output);
      assert.match(run.output, /^ℹ fail 0$/m);
      for (const name of ['maps a recorded contact to a schema-valid canonical Customer', 'acme-contacts: contact.get answers data valid against the canonical Customer schema', 'acme-contacts: contact.get maps an unknown id to NotFoundError', 'acme-contacts: contact.get rejects when its signal aborts while the backend hangs', 'acme-contacts: maps refused credentials to UnauthorizedError', 'acme-contacts: keeps its package name and version in step with the manifest']) {
        assert.ok(run.output.split('\n').some((line) => line.includes('✔') && line.includes(name)), `"${name}" should pass:\n${run.output}`);
      }
      // Every request kept the context path, and carried the configured key (or the suite's wrong one).
      assert.ok(backend.seen.length > 0);
      assert.deepEqual(backend.seen.filter((r) => !r.url.startsWith(`${CONTEXT_PATH}/`)), []);
      assert.deepEqual(new Set(backend.seen.map((r) => r.key)), new Set([API_KEY, `wrong-${API_KEY}`]));
    } finally {
      await backend.close();
    }
  });

  test('records its contract and verifies it against a backend under a context path (omnigate-connector contract in its folder)', async () => {
    const backend = await startContactsBackend(read('src/fixtures/contact.json'));
    try {
      const run = await connectorCommand('contract', { OMNIGATE_CONNECTOR_ACME_CONTACTS_BASE_URL: `${backend.origin}${CONTEXT_PATH}`, OMNIGATE_CONNECTOR_ACME_CONTACTS_API_KEY: API_KEY, OMNIGATE_PACT_VERIFIER_PORT: String(await freePort()) });
      assert.equal(run.status, 0, run.output);
      assert.match(run.output, /recorded contracts\/acme-contacts-acme-contacts-api\.json/);
      assert.match(run.output, /verified contracts\/acme-contacts-acme-contacts-api\.json against http:\/\/127\.0\.0\.1:\d+: 2 interaction\(s\), provider states "a contact exists", "no contact exists"/);
      const pact = JSON.parse(read('contracts/acme-contacts-acme-contacts-api.json')) as { interactions: { request: { path: string; headers: Record<string, string> } }[] };
      assert.deepEqual(pact.interactions.map((i) => i.request.path).sort(), [`${CONTEXT_PATH}/v1/contacts/c_0042`, `${CONTEXT_PATH}/v1/contacts/no-such-contact`]);
      assert.ok(pact.interactions.every((i) => i.request.headers['X-Api-Key'] === 'contract-key'), 'the contract holds the placeholder key, never the real one');
      // The replayed requests reached the backend under its context path with the real key.
      assert.ok(backend.seen.some((r) => r.url === `${CONTEXT_PATH}/v1/contacts/c_0042` && r.key === API_KEY), JSON.stringify(backend.seen));
    } finally {
      await backend.close();
      rmSync(join(target, 'contracts'), { recursive: true, force: true });
    }
  });

  test('without its settings, its unit tests still pass and the conformance suite fails naming the variable to set', async () => {
    const run = await connectorTest({});
    assert.equal(run.status, 1, run.output);
    assert.ok(run.output.split('\n').some((line) => line.includes('✔') && line.includes('maps a recorded contact to a schema-valid canonical Customer')), run.output);
    assert.ok(run.output.split('\n').some((line) => line.includes('✖') && line.includes('acme-contacts: authenticates against the real backend with the real config')), run.output);
    assert.match(run.output, /cannot call the backend: the config passed to describeConformance is invalid: baseUrl is missing \(set OMNIGATE_CONNECTOR_ACME_CONTACTS_BASE_URL\); apiKey is missing \(set OMNIGATE_CONNECTOR_ACME_CONTACTS_API_KEY\)/);
  });

  test('packs only the connector (package.json `files`): an old tarball in its folder is never packed into a new one', () => {
    const pkg = JSON.parse(read('package.json')) as { files?: string[] };
    assert.ok(Array.isArray(pkg.files), 'package.json lists its files');
    const old = join(target, 'omnigate-connector-acme-contacts-0.0.9.tgz');
    writeFileSync(old, 'an earlier npm pack');
    try {
      const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
      const run = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: target, encoding: 'utf8', env });
      assert.equal(run.status, 0, run.stderr);
      const packed = ((JSON.parse(run.stdout) as Array<{ files: Array<{ path: string }> }>)[0]?.files ?? []).map((f) => f.path).sort();
      assert.deepEqual(packed.filter((p) => p.endsWith('.tgz')), [], `a tarball was packed: ${packed.join(', ')}`);
      for (const needed of ['package.json', 'README.md', 'src/index.ts', 'src/mappers/to-customer.ts']) assert.ok(packed.includes(needed), `${needed} is packed: ${packed.join(', ')}`);
    } finally {
      rmSync(old, { force: true });
    }
  });

  test('refuses a name that is not kebab-case with a clear message and exit code 2', () => {
    for (const bad of ['AcmeContacts', 'acme_contacts', 'acme.contacts', 'acme-', 'acme--contacts', '1acme', 'acme contacts', 'a'.repeat(51)]) {
      const run = scaffold(bad, '--dir', connectorsDir);
      assert.equal(run.status, 2, `"${bad}" should be refused`);
      assert.match(run.stderr, /is not a connector name: use kebab-case/);
    }
    const none = scaffold('--dir', connectorsDir);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /a connector name is needed/);
    assert.deepEqual(readdirSync(connectorsDir), [NAME], 'a refused name must leave nothing behind');
  });

  test('refuses to overwrite an existing connector folder and leaves it untouched', () => {
    writeFileSync(join(target, 'src/index.ts'), '// edited by its author\n');
    const run = scaffold(NAME, '--dir', connectorsDir);
    assert.equal(run.status, 1);
    assert.match(run.stderr, new RegExp(`${relative(ROOT_DIR, target).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} already exists`));
    assert.equal(read('src/index.ts'), '// edited by its author\n');
    assert.deepEqual(readdirSync(connectorsDir), [NAME]);
  });
});
