// `npm run sdk:pack`: the SDK as an integrator installs it. The tarball installs into a folder
// outside the repository; both entry points load from plain JavaScript; a TypeScript consumer
// checks against the shipped declarations, and a wrong type fails.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { forbiddenSources, sdkDependencies, type RootManifest } from '../../scripts/lib/sdk-package.ts';

const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ROOT_MANIFEST = JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as RootManifest & {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
/** What the SDK's emitted files import today: each must be a runtime dependency of the package. */
const RUNTIME_PACKAGES = ['@opentelemetry/api', 'ajv', 'ajv-formats', 'pino'];

let work: string;
let consumer: string;
let packed: SpawnSyncReturns<string>;
let tarball: string;

/** A child process as a user's shell would start it: not inside our test run, nor inside an npm script of the repository. */
function run(command: string, args: readonly string[], cwd: string): SpawnSyncReturns<string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'INIT_CWD' && key !== 'NODE_TEST_CONTEXT'));
  return spawnSync(command, args, { cwd, env, encoding: 'utf8' });
}

function ok(result: SpawnSyncReturns<string>, what: string): string {
  assert.equal(result.status, 0, `${what} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'omnigate-sdk-pack-'));
  packed = run('npm', ['run', '-s', 'sdk:pack', '--', '--out-dir', join(work, 'packs')], ROOT_DIR);
  tarball = ok(packed, 'npm run sdk:pack').trim().split('\n').at(-1) ?? '';
  consumer = join(work, 'consumer');
  mkdirSync(consumer);
  ok(run('npm', ['init', '-y'], consumer), 'npm init');
  // As a connector's package is: ESM.
  const manifest = join(consumer, 'package.json');
  writeFileSync(manifest, JSON.stringify({ ...JSON.parse(readFileSync(manifest, 'utf8')), type: 'module' }, null, 2));
  ok(run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], consumer), 'npm install <tarball>');
});
after(() => rmSync(work, { recursive: true, force: true }));

const installed = (path: string): string => join(consumer, 'node_modules/omnigate', path);

describe('the packed SDK', () => {
  test('is written as omnigate-<version>.tgz in the output folder, its absolute path printed last', () => {
    assert.equal(tarball, join(work, 'packs', `omnigate-${ROOT_MANIFEST.version}.tgz`));
    assert.ok(existsSync(tarball));
  });

  test('ships JavaScript, declarations and the canonical schemas, never TypeScript sources', () => {
    const files = readdirSync(installed('dist'), { recursive: true, encoding: 'utf8' });
    assert.ok(files.includes('sdk/index.js') && files.includes('sdk/index.d.ts') && files.includes('sdk/testing/index.d.ts'));
    assert.deepEqual(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), []);
    assert.deepEqual(files.filter((f) => f.startsWith('config') || f === 'gateway.js' || f === 'app.js'), []);
    const schemas = readdirSync(installed('schemas'));
    assert.deepEqual(schemas, readdirSync(join(ROOT_DIR, 'schemas')).filter((f) => f.endsWith('.json')));
  });

  test('depends on the packages its files import, at the root’s ranges, with Pact as an optional peer', () => {
    const manifest = JSON.parse(readFileSync(installed('package.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(manifest.name, 'omnigate');
    assert.equal(manifest.version, ROOT_MANIFEST.version);
    assert.equal(manifest.type, 'module');
    assert.deepEqual(manifest.engines, { node: '>=24' });
    assert.deepEqual(manifest.bin, { 'omnigate-connector': 'dist/sdk/testing/cli.js' });
    assert.deepEqual(manifest.dependencies, Object.fromEntries(RUNTIME_PACKAGES.map((name) => [name, ROOT_MANIFEST.dependencies[name]])));
    assert.deepEqual(manifest.peerDependencies, { '@pact-foundation/pact': ROOT_MANIFEST.devDependencies['@pact-foundation/pact'] });
    assert.deepEqual(manifest.peerDependenciesMeta, { '@pact-foundation/pact': { optional: true } });
    assert.ok(!existsSync(join(consumer, 'node_modules/@pact-foundation/pact')), 'an optional peer is not installed');
  });

  test('loads omnigate/sdk and omnigate/sdk/testing from plain JavaScript outside the repository', () => {
    writeFileSync(join(consumer, 'check.mjs'), CHECK_MJS);
    const report = JSON.parse(ok(run(process.execPath, ['check.mjs'], consumer), 'node check.mjs')) as Record<string, unknown>;
    assert.deepEqual(report, {
      sdkFrom: `file://${installed('dist/sdk/index.js')}`,
      testingFrom: `file://${installed('dist/sdk/testing/index.js')}`,
      connector: 'acme-contacts',
      apiKeyHeader: 'k-1',
      noAuthHeaders: {},
      notFound: { code: 'NOT_FOUND', isConnectorError: true },
      customerValid: true,
      customerWithoutNameValid: false,
      config: { baseUrl: 'http://backend.invalid/ctx', timeoutMs: 2500 },
      configProblems: [],
      callContextBaseUrl: 'http://backend.invalid/ctx',
      faulted: 503,
      forwarded: { status: 200, path: '/ctx/contacts/6' },
    });
  });

  test('typechecks a TypeScript consumer against the shipped declarations, and a wrong type fails', () => {
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify(consumerTsconfig(ROOT_DIR)));
    writeFileSync(join(consumer, 'consumer.ts'), CONSUMER_TS);
    writeFileSync(join(consumer, 'wrong.ts'), WRONG_TS);
    const checked = run(join(ROOT_DIR, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], consumer);
    const errors = checked.stdout.split('\n').filter((line) => /error TS\d+/.test(line));
    assert.equal(checked.status, 2, `tsc should fail on wrong.ts only:\n${checked.stdout}${checked.stderr}`);
    assert.deepEqual(
      errors.map((line) => line.replace(/^(\S+)\(\d+,\d+\): error (TS\d+): /, '$1 $2 ')),
      [
        "wrong.ts TS2345 Argument of type 'string' is not assignable to parameter of type '{ header: string; value: string; }'.",
        "wrong.ts TS2353 Object literal may only specify known properties, and 'latency' does not exist in type 'FaultProxyOptions'.",
        "wrong.ts TS2339 Property 'port' does not exist on type 'FaultProxy'.",
        "wrong.ts TS2339 Property 'warning' does not exist on type 'Logger'.",
        "wrong.ts TS2339 Property 'compileEverything' does not exist on type 'Ajv2020'.",
      ],
    );
  });
});

describe('the omnigate-connector command of the installed package', () => {
  test('prints its usage with --help', () => {
    const help = ok(run('npx', ['--no-install', 'omnigate-connector', '--help'], consumer), 'npx omnigate-connector --help');
    assert.match(help, /^usage: omnigate-connector <command>/);
    assert.match(help, /^ {2}test /m);
    assert.match(help, /^ {2}contract /m);
  });

  test('runs the connector folder’s tests with the kit, and exits with their exit code', () => {
    mkdirSync(join(consumer, 'src'), { recursive: true });
    writeFileSync(join(consumer, 'src/schemas.test.ts'), CONNECTOR_TEST_TS.replace('EXPECTED', 'true'));
    const passed = run('npx', ['--no-install', 'omnigate-connector', 'test'], consumer);
    assert.equal(passed.status, 0, `${passed.stdout}\n${passed.stderr}`);
    assert.match(passed.stdout, /a customer needs only an id and a display name/);
    assert.match(passed.stdout, /pass 1$/m);
    writeFileSync(join(consumer, 'src/schemas.test.ts'), CONNECTOR_TEST_TS.replace('EXPECTED', 'false'));
    const failed = run('npx', ['--no-install', 'omnigate-connector', 'test'], consumer);
    assert.equal(failed.status, 1, `${failed.stdout}\n${failed.stderr}`);
    assert.match(failed.stdout, /fail 1$/m);
  });
});

describe('what sdk:pack refuses', () => {
  test('a compile that pulls in the gateway’s config, app, tests or scripts', () => {
    const problems = forbiddenSources(['src/sdk/index.ts', 'src/kernel/errors.ts', 'src/config/config.ts', 'src/gateway.ts', 'src/app.ts', 'test/support/gateway.ts', 'scripts/lib/redis.ts', 'bench/x.ts']);
    assert.deepEqual(
      problems.map((p) => p.split(':')[0]),
      ['src/config/config.ts', 'src/gateway.ts', 'src/app.ts', 'test/support/gateway.ts', 'scripts/lib/redis.ts', 'bench/x.ts'],
    );
  });

  test('an import of a package the root does not depend on at run time', () => {
    const imports = new Map([['dist/sdk/x.js', ['pino', 'node:http', './y.js', 'openapi-typescript/dist/index.js', '@pact-foundation/pact']]]);
    const { dependencies, problems } = sdkDependencies(imports, ROOT_MANIFEST);
    assert.deepEqual(dependencies, { pino: ROOT_MANIFEST.dependencies.pino });
    assert.deepEqual(problems, ["dist/sdk/x.js imports 'openapi-typescript/dist/index.js', but openapi-typescript is not in the dependencies of the root package.json"]);
  });

  test('an unknown option, with its usage and exit code 2', () => {
    const result = run(process.execPath, [join(ROOT_DIR, 'scripts/pack-sdk.ts'), '--out', join(work, 'elsewhere')], ROOT_DIR);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /Unknown option '--out'[\s\S]*usage: npm run sdk:pack/);
    assert.ok(!existsSync(join(work, 'elsewhere')));
  });
});

function consumerTsconfig(rootDir: string): object {
  return {
    compilerOptions: {
      target: 'es2024',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      noEmit: true,
      // As most consumers do (checking @types/node costs seconds); the wrong uses in wrong.ts
      // prove the declarations resolve down to pino's and ajv's own types, not to \`any\`.
      skipLibCheck: true,
      typeRoots: [join(rootDir, 'node_modules/@types')],
      types: ['node'],
    },
    files: ['consumer.ts', 'wrong.ts'],
  };
}

const CHECK_MJS = `import { createServer } from 'node:http';
import { apiKeyAuth, defineConnector, noAuth, NotFoundError, ConnectorError } from 'omnigate/sdk';
import { canonicalSchemas, configFromEnv, createTestContexts, startFaultProxy } from 'omnigate/sdk/testing';

const connector = defineConnector({
  manifest: {
    name: 'acme-contacts', version: '0.1.0', system: 'acme', description: 'contacts',
    configSchema: { type: 'object', required: ['baseUrl'], properties: { baseUrl: { type: 'string' }, timeoutMs: { type: 'integer', default: 2500 } } },
    capabilities: [{ name: 'contact.get', kind: 'query', description: 'one', params: { type: 'object' }, result: 'Customer' }],
  },
  auth: async () => noAuth(),
  queries: { 'contact.get': async () => ({ id: '6', displayName: 'Six' }) },
  health: async () => ({ ok: true }),
});
const withKey = { headers: {} }; apiKeyAuth({ header: 'x-api-key', value: 'k-1' }).authorize(withKey);
const withNone = { headers: {} }; await noAuth().authorize(withNone);
const notFound = new NotFoundError('no contact 6');
const customer = canonicalSchemas().validatorFor('Customer');
const { config, problems } = configFromEnv(connector, { OMNIGATE_CONNECTOR_ACME_CONTACTS_BASE_URL: 'http://backend.invalid/ctx' });
const contexts = createTestContexts({ config });
const callContext = contexts.callContext();
contexts.close();

const backend = createServer((req, res) => res.end(JSON.stringify({ path: req.url })));
await new Promise((done) => backend.listen(0, '127.0.0.1', done));
const proxy = await startFaultProxy({ target: \`http://127.0.0.1:\${backend.address().port}/ctx\` });
proxy.setFault({ kind: 'error', status: 503 });
const faulted = (await fetch(\`\${proxy.url}/contacts/6\`)).status;
proxy.clear();
const reply = await fetch(\`\${proxy.url}/contacts/6\`);
const forwarded = { status: reply.status, path: (await reply.json()).path };
await proxy.close();
backend.close();

console.log(JSON.stringify({
  sdkFrom: import.meta.resolve('omnigate/sdk'),
  testingFrom: import.meta.resolve('omnigate/sdk/testing'),
  connector: connector.manifest.name,
  apiKeyHeader: withKey.headers['x-api-key'],
  noAuthHeaders: withNone.headers,
  notFound: { code: notFound.code, isConnectorError: notFound instanceof ConnectorError },
  customerValid: customer({ id: 'c-6', displayName: 'Six' }),
  customerWithoutNameValid: customer({ id: 'c-6' }),
  config, configProblems: problems,
  callContextBaseUrl: callContext.config.baseUrl,
  faulted, forwarded,
}));
`;

const CONSUMER_TS = `import { apiKeyAuth, defineConnector, noAuth, NotFoundError, type Authenticator, type Connector } from 'omnigate/sdk';
import { canonicalSchemas, configFromEnv, createTestContexts, describeConformance, startFaultProxy, type ConformanceOptions, type FaultProxy } from 'omnigate/sdk/testing';

interface AcmeConfig { readonly baseUrl: string; readonly apiKey: string }

export const connector: Connector<AcmeConfig> = defineConnector<AcmeConfig>({
  manifest: { name: 'acme', version: '0.1.0', system: 'acme', description: 'd', configSchema: {}, capabilities: [] },
  auth: async ({ config }): Promise<Authenticator> => apiKeyAuth({ header: 'x-api-key', value: config.apiKey }),
  queries: {},
  health: async ({ http }) => ({ ok: (await http.request({ path: '/health' })).status === 200 }),
});
export const none: Authenticator = noAuth();
export const code: string = new NotFoundError('gone').code;
export const valid: boolean = canonicalSchemas().validatorFor('Customer')({ id: '1', displayName: 'One' });
const { config, problems } = configFromEnv<AcmeConfig>(connector);
export const baseUrl: string = config.baseUrl;
export const problemCount: number = problems.length;
export const contexts = createTestContexts({ config });
export const proxy: Promise<FaultProxy> = startFaultProxy({ target: baseUrl });
export const conformance = (options: ConformanceOptions<AcmeConfig>): void => describeConformance(options);
`;

/** A connector's own test, run by \`omnigate-connector test\` from its folder (TypeScript, as Node strips it). */
const CONNECTOR_TEST_TS = `import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalSchemas } from 'omnigate/sdk/testing';

test('a customer needs only an id and a display name', () => {
  const valid: boolean = canonicalSchemas().validatorFor('Customer')({ id: 'c-1', displayName: 'One' });
  assert.equal(valid, EXPECTED);
});
`;

/** Wrong uses, each an error only if the declarations are real types, down to pino and ajv. */
const WRONG_TS = `import { apiKeyAuth, type ConnectorContext } from 'omnigate/sdk';
import { canonicalSchemas, startFaultProxy } from 'omnigate/sdk/testing';

apiKeyAuth('x-api-key');
await startFaultProxy({ target: 'http://x', latency: 5 });
export const missing = (await startFaultProxy({ target: 'http://x' })).port;
export const logs = (ctx: ConnectorContext<unknown>) => ctx.log.warning('pino has warn, not warning');
export const compiles = canonicalSchemas().ajv.compileEverything;
`;
