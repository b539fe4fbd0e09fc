// `npm run connector:new`: what it generates must be a working connector on the first run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createAjv, createSchemaRegistry } from '../../src/kernel/schemas.ts';
import { secretFields } from '../../src/modules/connectors/connector-config.ts';
import { MANIFEST_SCHEMA } from '../../src/modules/connectors/manifest.schema.ts';
import { isConnector } from '../../src/sdk/define-connector.ts';
import { NotFoundError } from '../../src/sdk/errors.ts';
import { ROOT_DIR } from '../support/gateway.ts';
import { createTestContexts } from '../../src/sdk/testing/index.ts';

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
];

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

describe('connector scaffold', () => {
  test('generates every file of a connector package and prints the next steps', () => {
    assert.equal(generated.status, 0, generated.stderr);
    assert.deepEqual(listFiles(target).sort(), EXPECTED_FILES);
    for (const expected of ['OMNIGATE_CONNECTOR_ACME_CONTACTS_BASE_URL', 'OMNIGATE_CONNECTOR_ACME_CONTACTS_API_KEY', 'node --test', '/v1/admin/connectors/acme-contacts/reload']) {
      assert.ok(generated.stdout.includes(expected), `the next steps should mention ${expected}:\n${generated.stdout}`);
    }
  });

  test('substitutes the name in kebab, camel, Pascal and UPPER_SNAKE case and leaves no token behind', () => {
    for (const file of EXPECTED_FILES) assert.doesNotMatch(read(file), /\{\{|\}\}/, `${file} still has a template token`);
    const pkg = JSON.parse(read('package.json')) as Record<string, unknown>;
    assert.equal(pkg.name, '@omnigate/connector-acme-contacts');
    assert.equal(pkg.type, 'module');
    assert.equal(pkg.main, './src/index.ts');
    assert.deepEqual(pkg.peerDependencies, { omnigate: '*' });
    assert.deepEqual(pkg.peerDependenciesMeta, { omnigate: { optional: true } });
    assert.match(read('src/index.ts'), /const acmeContactsConnector = defineConnector<AcmeContactsConfig>/);
    assert.match(read('src/index.ts'), /name: 'acme-contacts'/);
    assert.match(read('src/config.ts'), /export interface AcmeContactsConfig/);
    assert.match(read('src/config.ts'), /OMNIGATE_CONNECTOR_ACME_CONTACTS_<FIELD>/);
    assert.match(read('README.md'), /^# acme-contacts$/m);
    assert.match(read('README.md'), /OMNIGATE_CONNECTOR_ACME_CONTACTS_API_KEY/);
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

  test('generates a connector that serves contact.get from a backend answering like its fixture', async () => {
    const module = (await import(pathToFileURL(join(target, 'src/index.ts')).href)) as { default?: unknown };
    assert.ok(isConnector(module.default));
    const connector = module.default;
    const keys: unknown[] = [];
    const fixture = read('src/fixtures/contact.json');
    // A stand-in for the contacts backend the template assumes: replays the recorded reply.
    const server: Server = createServer((req, res) => {
      keys.push(req.headers['x-api-key']);
      const [status, body] = req.url === '/health' ? [200, '{"status":"ok"}'] : req.url === '/v1/contacts/c_0042' ? [200, fixture] : [404, '{"error":"not found"}'];
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const config = { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: 'scaffold-test-key' };
    const contexts = createTestContexts({ config });
    try {
      const authenticator = await connector.auth(contexts.authContext());
      const callContext = () => contexts.callContext({ authenticator, signal: AbortSignal.timeout(2_000) });
      assert.deepEqual(await connector.health(callContext()), { ok: true });
      const customer = await connector.query('contact.get', { id: 'c_0042' }, callContext());
      const validate = createSchemaRegistry(join(ROOT_DIR, 'schemas')).validatorFor('Customer');
      assert.ok(validate(customer), JSON.stringify(validate.errors));
      await assert.rejects(connector.query('contact.get', { id: 'nobody' }, callContext()), NotFoundError);
      assert.deepEqual(new Set(keys), new Set(['scaffold-test-key']));
    } finally {
      contexts.close();
      await new Promise((resolve) => server.close(resolve));
    }
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
