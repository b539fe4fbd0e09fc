// `omnigate-connector contract` from a connector's own folder: records its contract, then
// verifies it against a real backend served under a context path, with the connector's own
// credentials and the folder's provider states. No sample backend, Kafka or gateway needed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort } from '../support/ports.ts';
import { ROOT_DIR } from './support/contract-consumer.ts';

const CLI = join(ROOT_DIR, 'src/sdk/testing/cli.ts');
const CONTEXT_PATH = '/petclinic/api';
const REAL_KEY = 'real-key';

const FILES: Record<string, string> = {
  'package.json': JSON.stringify({ name: '@acme/connector-petclinic', version: '0.1.0', type: 'module', main: './src/index.ts' }),
  'src/index.ts': `import { apiKeyAuth, defineConnector, errorForStatus } from 'omnigate/sdk';
export interface PetclinicConfig { readonly baseUrl: string; readonly apiKey: string }
export default defineConnector<PetclinicConfig>({
  manifest: {
    name: 'petclinic', version: '0.1.0', system: 'petclinic', description: 'Owners of a pet clinic.',
    configSchema: { type: 'object', required: ['baseUrl', 'apiKey'], properties: { baseUrl: { type: 'string', format: 'uri' }, apiKey: { type: 'string', 'x-secret': true } } },
    capabilities: [{ name: 'owner.get', kind: 'query', description: 'One owner.', params: { type: 'object' }, result: 'Customer' }],
  },
  auth: async ({ config }) => {
    // Stands for a token endpoint refusing the configured credentials.
    if (config.apiKey === 'revoked') throw new Error('the backend refused the key');
    return apiKeyAuth({ header: 'X-Api-Key', value: config.apiKey });
  },
  queries: {
    'owner.get': async (params, ctx) => {
      const reply = await ctx.http.request({ path: '/owners/' + String(params.id) });
      if (reply.status !== 200) throw errorForStatus(reply.status, 'owner: ' + reply.status);
      const owner = reply.body as { id: number; firstName: string; lastName: string };
      return { id: String(owner.id), displayName: owner.firstName + ' ' + owner.lastName };
    },
  },
  health: async () => ({ ok: true }),
});
`,
  'test/owner.contract.test.ts': `import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { MatchersV3 as m } from '@pact-foundation/pact';
import { configFromEnv, createConsumerContract } from 'omnigate/sdk/testing';
import petclinic, { type PetclinicConfig } from '../src/index.ts';

const contract = await createConsumerContract({ consumer: 'petclinic', provider: 'petclinic-api', dir: fileURLToPath(new URL('../contracts/', import.meta.url)) });
const config: PetclinicConfig = { ...configFromEnv(petclinic).config, apiKey: 'contract-key' };

test('owner.get maps an owner', async () => {
  contract.pact.given('an owner exists', { id: 6 }).uponReceiving('a request for owner 6')
    .withRequest({ method: 'GET', path: '${CONTEXT_PATH}/owners/6', headers: { 'X-Api-Key': m.string('contract-key') } })
    .willRespondWith({ status: 200, body: { id: 6, firstName: m.string('Jean'), lastName: m.string('Coleman') } });
  await contract.execute(petclinic, config, async (ctx) => assert.deepEqual(await petclinic.query('owner.get', { id: '6' }, ctx), { id: '6', displayName: 'Jean Coleman' }));
});
test('the recorded contract is contracts/petclinic-petclinic-api.json', () => contract.settle());
`,
  'test/provider-states.ts': `const base = process.env.OMNIGATE_CONNECTOR_PETCLINIC_BASE_URL;
export default {
  'an owner exists': async (params: Record<string, unknown>) => {
    const reply = await fetch(base + '/_seed/owners/' + String(params.id), { method: 'POST' });
    if (reply.status !== 204) throw new Error('seeding owner ' + String(params.id) + ' answered ' + reply.status);
  },
};
`,
};

// The real backend: under a context path, answering only with the real key; owners are seeded.
const owners = new Set<number>();
const seen: string[] = [];
let lastNameType: 'string' | 'number' = 'string';
const backend = createServer((req: IncomingMessage, res: ServerResponse) => {
  seen.push(`${req.method} ${req.url} ${req.headers['x-api-key'] ?? '-'}`);
  const seed = new RegExp(`^${CONTEXT_PATH}/_seed/owners/(\\d+)$`).exec(req.url ?? '');
  if (seed && req.method === 'POST') return void (owners.add(Number(seed[1])), res.writeHead(204).end());
  if (req.headers['x-api-key'] !== REAL_KEY) return void res.writeHead(401).end();
  const owner = new RegExp(`^${CONTEXT_PATH}/owners/(\\d+)$`).exec(req.url ?? '');
  if (!owner || !owners.has(Number(owner[1]))) return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: Number(owner[1]), firstName: 'Jean', lastName: lastNameType === 'string' ? 'Coleman' : 42 }));
});

let folder = '';
let env: NodeJS.ProcessEnv = {};
before(async () => {
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  // Under .data/ so that omnigate and Pact resolve from the repository's node_modules.
  mkdirSync(join(ROOT_DIR, '.data'), { recursive: true });
  folder = mkdtempSync(join(ROOT_DIR, '.data/contract-command-'));
  for (const [file, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(folder, file)), { recursive: true });
    writeFileSync(join(folder, file), text);
  }
  const { NODE_TEST_CONTEXT: _parentRun, ...rest } = process.env;
  env = {
    ...rest,
    OMNIGATE_CONNECTOR_PETCLINIC_BASE_URL: `http://127.0.0.1:${(backend.address() as AddressInfo).port}${CONTEXT_PATH}`,
    OMNIGATE_CONNECTOR_PETCLINIC_API_KEY: REAL_KEY,
    OMNIGATE_PACT_VERIFIER_PORT: String(await freePort()),
  };
});
after(async () => {
  rmSync(folder, { recursive: true, force: true });
  backend.closeAllConnections();
  await new Promise<void>((resolve) => backend.close(() => resolve()));
});

/** `omnigate-connector contract …` in the connector's folder, as `npm run contract` runs it. */
function contract(args: string[], childEnv: NodeJS.ProcessEnv = env): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'contract', ...args], { cwd: folder, env: childEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test('records the contract into contracts/ and verifies it against the real backend, context path and real credentials included', async () => {
  const run = await contract([]);
  assert.equal(run.status, 0, run.stdout + run.stderr);
  const file = join(folder, 'contracts/petclinic-petclinic-api.json');
  const pact = JSON.parse(readFileSync(file, 'utf8')) as { interactions: { request: { path: string; headers: Record<string, string> } }[] };
  assert.deepEqual(pact.interactions.map((i) => i.request.path), [`${CONTEXT_PATH}/owners/6`]);
  assert.equal(pact.interactions[0]?.request.headers['X-Api-Key'], 'contract-key', 'the contract holds the placeholder, never the real key');
  assert.match(run.stdout, /recorded contracts\/petclinic-petclinic-api\.json/);
  assert.match(run.stdout, new RegExp(`verified contracts/petclinic-petclinic-api\\.json against http://127\\.0\\.0\\.1:\\d+: 1 interaction\\(s\\), provider states "an owner exists"`));
  assert.ok(seen.includes(`GET ${CONTEXT_PATH}/owners/6 ${REAL_KEY}`), seen.join('\n'));
});

test('--verify-only exits 1 naming the interaction when the backend no longer honours the contract', async () => {
  lastNameType = 'number';
  try {
    const run = await contract(['--verify-only']);
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /NOT verified contracts\/petclinic-petclinic-api\.json .*a request for owner 6: \$\.lastName -> Expected 42 \(Integer\) to be the same type as .Coleman. \(String\)/);
    assert.doesNotMatch(run.stdout, /recording/);
  } finally {
    lastNameType = 'string';
  }
});

test('exits 2 naming the variable to set when the connector\'s config is incomplete', async () => {
  const { OMNIGATE_CONNECTOR_PETCLINIC_BASE_URL: _unset, ...partial } = env;
  const run = await contract(['--verify-only'], partial);
  assert.equal(run.status, 2, run.stdout + run.stderr);
  assert.match(run.stderr, /config is incomplete.*\n.*OMNIGATE_CONNECTOR_PETCLINIC_BASE_URL/);
});

test('--verify-only exits 1 naming the backend when the connector cannot authenticate with the real config', async () => {
  seen.length = 0;
  const run = await contract(['--verify-only'], { ...env, OMNIGATE_CONNECTOR_PETCLINIC_API_KEY: 'revoked' });
  assert.equal(run.status, 1, run.stdout + run.stderr);
  assert.match(run.stderr, /NOT verified: the connector's auth\(\) failed against http:\/\/127\.0\.0\.1:\d+\/petclinic\/api, so no request could carry real credentials: the backend refused the key/);
  assert.deepEqual(seen, [], 'nothing was replayed');
});

test('exits 1 without touching contracts/ when a consumer test fails', async () => {
  const before = readFileSync(join(folder, 'contracts/petclinic-petclinic-api.json'), 'utf8');
  const broken = join(folder, 'test/broken.contract.test.ts');
  writeFileSync(broken, `import { test } from 'node:test';\ntest('fails on purpose', () => { throw new Error('planted'); });\n`);
  try {
    const run = await contract(['--record-only']);
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /recording failed/);
    assert.equal(readFileSync(join(folder, 'contracts/petclinic-petclinic-api.json'), 'utf8'), before);
  } finally {
    rmSync(broken);
  }
});

test('exits 2 on bad usage and outside a connector folder', async () => {
  const both = await contract(['--record-only', '--verify-only']);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /--record-only and --verify-only exclude each other\nusage: omnigate-connector contract/);
  const unknown = await contract(['--frobnicate']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /Unknown option '--frobnicate'/);
  const outside = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, 'contract'], { cwd: join(folder, 'test'), env });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => resolve({ status, stderr }));
  });
  assert.equal(outside.status, 2);
  assert.match(outside.stderr, /has no package\.json: run this in a connector's folder/);
  assert.equal(existsSync(join(folder, 'test/contracts')), false);
});
