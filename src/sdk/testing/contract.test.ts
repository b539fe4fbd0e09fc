import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MatchersV3 as m } from '@pact-foundation/pact';
import { apiKeyAuth, defineConnector, errorForStatus } from 'omnigate/sdk';
import { createConsumerContract, verifyContract, PactMissingError, type ConsumerContract } from 'omnigate/sdk/testing';
import { loadPact } from './pact-loader.ts';
import { freePort } from '../../../test/support/ports.ts';

// A tiny connector for a backend served under a context path, like a Java app server's.
interface PetclinicConfig {
  readonly baseUrl: string;
  readonly apiKey: string;
}
const CONTEXT_PATH = '/petclinic/api';
const petclinic = defineConnector<PetclinicConfig>({
  manifest: {
    name: 'petclinic',
    version: '0.1.0',
    system: 'petclinic',
    description: 'Owners of a pet clinic, under a context path.',
    configSchema: { type: 'object', required: ['baseUrl', 'apiKey'], properties: { baseUrl: { type: 'string' }, apiKey: { type: 'string', 'x-secret': true } } },
    capabilities: [{ name: 'owner.get', kind: 'query', description: 'One owner.', params: { type: 'object' }, result: 'Customer' }],
  },
  auth: async ({ config }) => apiKeyAuth({ header: 'X-Api-Key', value: config.apiKey }),
  queries: {
    'owner.get': async (params, ctx) => {
      const reply = await ctx.http.request({ path: `/owners/${String(params.id)}` });
      if (reply.status !== 200) throw errorForStatus(reply.status, `owner ${String(params.id)}: ${reply.status}`);
      const body = reply.body as { id: number; firstName: string; lastName: string };
      return { id: String(body.id), displayName: `${body.firstName} ${body.lastName}` };
    },
  },
  health: async () => ({ ok: true }),
});

/** The config an integrator has: the real backend's URL, context path included. */
const REAL_CONFIG: PetclinicConfig = { baseUrl: `http://petclinic.invalid:9966${CONTEXT_PATH}`, apiKey: 'contract-key' };
const OWNER = { id: 6, firstName: m.string('Jean'), lastName: m.string('Coleman') };

function addOwnerInteraction(contract: ConsumerContract, description = 'a request for owner 6'): void {
  contract.pact
    .given('an owner exists', { id: 6 })
    .uponReceiving(description)
    .withRequest({ method: 'GET', path: `${CONTEXT_PATH}/owners/6`, headers: { 'X-Api-Key': m.string('contract-key') } })
    .willRespondWith({ status: 200, headers: { 'Content-Type': m.regex('^application/json', 'application/json') }, body: OWNER });
}

async function recordOwner(contract: ConsumerContract, description?: string): Promise<void> {
  addOwnerInteraction(contract, description);
  await contract.execute(petclinic, REAL_CONFIG, async (ctx) => {
    assert.deepEqual(await petclinic.query('owner.get', { id: '6' }, ctx), { id: '6', displayName: 'Jean Coleman' });
  });
}

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'omnigate-contract-test-'));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('createConsumerContract', () => {
  test('keeps the context path of the connector\'s baseUrl on the mock server: /petclinic/api/owners/6 is the request recorded', async () => {
    const dir = tempDir();
    const contract = await createConsumerContract({ consumer: 'petclinic', provider: 'petclinic-api', dir, update: true });
    await recordOwner(contract);
    contract.settle();
    const recorded = JSON.parse(readFileSync(join(dir, 'petclinic-petclinic-api.json'), 'utf8')) as { interactions: { request: { path: string } }[] };
    assert.equal(contract.file, join(dir, 'petclinic-petclinic-api.json'));
    assert.deepEqual(recorded.interactions.map((i) => i.request.path), ['/petclinic/api/owners/6']);
  });

  test('checks the recorded contract against the committed one and names the interaction that drifted', async () => {
    const dir = tempDir();
    const writer = await createConsumerContract({ consumer: 'petclinic', provider: 'petclinic-api', dir, update: true });
    await recordOwner(writer);
    writer.settle();

    const same = await createConsumerContract({ consumer: 'petclinic', provider: 'petclinic-api', dir, update: false });
    await recordOwner(same);
    assert.doesNotThrow(() => same.settle());

    const drifted = await createConsumerContract({ consumer: 'petclinic', provider: 'petclinic-api', dir, update: false, updateCommand: 'npm run contract' });
    await recordOwner(drifted, 'a request for owner 6, renamed');
    assert.throws(() => drifted.settle(), /differs from what petclinic's consumer tests record \(new: "a request for owner 6, renamed"; gone: "a request for owner 6"\): run `npm run contract`/);
  });

  test('refuses to check against a contract never recorded, naming the command that records it', async () => {
    const contract = await createConsumerContract({ consumer: 'petclinic', provider: 'petclinic-api', dir: tempDir(), update: false });
    await recordOwner(contract);
    assert.throws(() => contract.settle(), /petclinic-petclinic-api\.json is not recorded yet: run `npm run contract`/);
  });

  test('a request the contract does not describe fails the test, and updating then refuses to write', async () => {
    const dir = tempDir();
    const contract = await createConsumerContract({ consumer: 'petclinic', provider: 'petclinic-api', dir, update: true });
    addOwnerInteraction(contract);
    await assert.rejects(contract.execute(petclinic, REAL_CONFIG, async (ctx) => void (await petclinic.query('owner.get', { id: '7' }, ctx).catch(() => undefined))));
    await recordOwner(contract);
    assert.throws(() => contract.settle(), /1 consumer test\(s\) failed; fix them before recording/);
    assert.equal(existsSync(join(dir, 'petclinic-petclinic-api.json')), false);
  });
});

describe('verifyContract', () => {
  // The real backend: under the context path, answering only with the real key.
  const REAL_KEY = 'real-key';
  const seen: string[] = [];
  let owners = new Map<number, { id: number; firstName: string; lastName: string }>();
  const backend: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(`${req.method} ${req.url} ${req.headers['x-api-key']}`);
    const match = /^\/petclinic\/api\/owners\/(\d+)$/.exec(req.url ?? '');
    const owner = match ? owners.get(Number(match[1])) : undefined;
    if (req.headers['x-api-key'] !== REAL_KEY) return void res.writeHead(401).end();
    if (!owner) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(owner));
  });
  let providerBaseUrl = '';
  let pactFile = '';
  const realKey = (request: { headers: Record<string, string> }) => void (request.headers['x-api-key'] = REAL_KEY);
  const stateHandlers = {
    'an owner exists': async (params: Record<string, unknown>) => void owners.set(Number(params.id), { id: Number(params.id), firstName: 'Jean', lastName: 'Coleman' }),
  };

  before(async () => {
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    providerBaseUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    const dir = tempDir();
    const contract = await createConsumerContract({ consumer: 'petclinic', provider: 'petclinic-api', dir, update: true });
    await recordOwner(contract);
    contract.settle();
    pactFile = contract.file;
  });
  after(async () => {
    backend.closeAllConnections();
    await new Promise<void>((resolve) => backend.close(() => resolve()));
  });

  test('replays the contract against the real backend on the given port, with its provider states and real credentials', async () => {
    owners = new Map();
    seen.length = 0;
    const port = await freePort();
    const result = await verifyContract({ pactFile, providerBaseUrl, port, stateHandlers, requestFilter: realKey });
    assert.deepEqual(result, { consumer: 'petclinic', provider: 'petclinic-api', interactions: 1, states: ['an owner exists'] });
    assert.deepEqual(seen, [`GET ${CONTEXT_PATH}/owners/6 ${REAL_KEY}`]);
  });

  test('verifies interactions that name no provider state: nothing to set up for them', async () => {
    owners = new Map([[6, { id: 6, firstName: 'Jean', lastName: 'Coleman' }]]);
    seen.length = 0;
    const contract = await createConsumerContract({ consumer: 'petclinic', provider: 'petclinic-stateless', dir: tempDir(), update: true });
    contract.pact
      .uponReceiving('a request for owner 6, in no named state')
      .withRequest({ method: 'GET', path: `${CONTEXT_PATH}/owners/6`, headers: { 'X-Api-Key': m.string('contract-key') } })
      .willRespondWith({ status: 200, headers: { 'Content-Type': m.regex('^application/json', 'application/json') }, body: OWNER });
    await contract.execute(petclinic, REAL_CONFIG, async (ctx) => void (await petclinic.query('owner.get', { id: '6' }, ctx)));
    contract.settle();
    const result = await verifyContract({ pactFile: contract.file, providerBaseUrl, port: await freePort(), requestFilter: realKey });
    assert.deepEqual(result, { consumer: 'petclinic', provider: 'petclinic-stateless', interactions: 1, states: [] });
    assert.deepEqual(seen, [`GET ${CONTEXT_PATH}/owners/6 ${REAL_KEY}`]);
  });

  test('fails naming the interaction when the backend does not honour it', async () => {
    owners = new Map();
    const brokenState = { 'an owner exists': async () => undefined }; // the owner is never created: 404
    await assert.rejects(verifyContract({ pactFile, providerBaseUrl, port: await freePort(), stateHandlers: brokenState, requestFilter: realKey }), /petclinic-api at .* does not honour .*a request for owner 6/s);
  });

  test('fails naming the provider state that did not hold', async () => {
    const failing = { 'an owner exists': async () => Promise.reject(new Error('the seed has no owner 6')) };
    await assert.rejects(verifyContract({ pactFile, providerBaseUrl, port: await freePort(), stateHandlers: failing, requestFilter: realKey }), /provider state "an owner exists" \{"id":6\} \(setup\) failed: the seed has no owner 6/);
  });

  test('refuses before replaying when a provider state of the contract has no handler', async () => {
    seen.length = 0;
    await assert.rejects(verifyContract({ pactFile, providerBaseUrl, port: await freePort(), requestFilter: realKey }), /needs provider state\(s\) with no handler: "an owner exists"\. Add a handler for each \(in a connector folder: the default export of test\/provider-states\.ts\)/);
    assert.deepEqual(seen, []);
  });

  test('says so when its port is taken, naming the setting that moves it', async () => {
    const squatter = createNetServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const { port } = squatter.address() as AddressInfo;
    try {
      await assert.rejects(verifyContract({ pactFile, providerBaseUrl, port, stateHandlers, requestFilter: realKey }), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is taken.*OMNIGATE_PACT_VERIFIER_PORT`));
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });

  test('takes its port from OMNIGATE_PACT_VERIFIER_PORT when no option says', async () => {
    const squatter = createNetServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const { port } = squatter.address() as AddressInfo;
    process.env.OMNIGATE_PACT_VERIFIER_PORT = String(port);
    try {
      await assert.rejects(verifyContract({ pactFile, providerBaseUrl, stateHandlers, requestFilter: realKey }), new RegExp(`127\\.0\\.0\\.1:${port}: the port is taken`));
    } finally {
      delete process.env.OMNIGATE_PACT_VERIFIER_PORT;
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });
});

test('names the package to install when Pact is missing', async () => {
  await assert.rejects(loadPact('@pact-foundation/not-installed-here'), (err: unknown) => err instanceof PactMissingError && /npm install -D @pact-foundation\/not-installed-here/.test(err.message));
});
