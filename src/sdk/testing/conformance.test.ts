// describeConformance must be able to fail: a child `node --test` runs the kit over a tiny
// connector with two planted defects, against a tiny backend under a context path.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

const ROOT_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../..');

// customer.get is right; customer.peek calls every non-200 "not found" (a 503 too); customer.fetch
// uses its own fetch(), deaf to ctx.signal. The backend serves one contact under /shop/api only.
const SUITE = `
import { createServer } from 'node:http';
import { after } from 'node:test';
import { BadUpstreamDataError, defineConnector, noAuth, NotFoundError, UpstreamUnavailableError } from 'omnigate/sdk';
import { describeConformance } from 'omnigate/sdk/testing';

const backend = createServer((req, res) => {
  const [status, body] = req.url === '/shop/api/health' ? [200, { ok: true }] : req.url === '/shop/api/contacts/c1' ? [200, { id: 'c1', name: 'Ada Lovelace' }] : [404, { error: 'no such contact' }];
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
});
await new Promise((resolve) => backend.listen(0, '127.0.0.1', resolve));
after(() => new Promise((resolve) => backend.close(resolve)));

const toCustomer = (raw) => {
  if (typeof raw?.id !== 'string' || typeof raw?.name !== 'string') throw new BadUpstreamDataError('contact', 'not a contact');
  return { id: raw.id, displayName: raw.name };
};
const capability = (name) => ({ name, kind: 'query', description: name, result: 'Customer', params: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } });
const path = (params) => '/contacts/' + encodeURIComponent(String(params.id));

const connector = defineConnector({
  manifest: {
    name: 'planted', version: '1.0.0', system: 'planted', description: 'A connector with planted defects.',
    configSchema: { type: 'object', required: ['baseUrl'], properties: { baseUrl: { type: 'string', format: 'uri' } } },
    capabilities: [capability('customer.get'), capability('customer.peek'), capability('customer.fetch')],
  },
  auth: async () => noAuth(),
  queries: {
    'customer.get': async (params, ctx) => {
      const reply = await ctx.http.request({ path: path(params) });
      if (reply.status === 404) throw new NotFoundError('no such contact');
      if (reply.status !== 200) throw new UpstreamUnavailableError('contacts answered ' + reply.status);
      return toCustomer(reply.body);
    },
    'customer.peek': async (params, ctx) => {
      const reply = await ctx.http.request({ path: path(params) });
      if (reply.status !== 200) throw new NotFoundError('no such contact');
      return toCustomer(reply.body);
    },
    'customer.fetch': async (params, ctx) => {
      let reply;
      try {
        reply = await fetch(ctx.config.baseUrl + path(params));
      } catch (err) {
        throw new UpstreamUnavailableError('contacts unreachable', { cause: err });
      }
      if (reply.status === 404) throw new NotFoundError('no such contact');
      if (reply.status !== 200) throw new UpstreamUnavailableError('contacts answered ' + reply.status);
      return toCustomer(await reply.json().catch((err) => { throw new BadUpstreamDataError('(body)', 'not JSON', { cause: err }); }));
    },
  },
  health: async (ctx) => ({ ok: (await ctx.http.request({ path: '/health' })).status === 200 }),
});

const samples = Object.fromEntries(['customer.get', 'customer.peek', 'customer.fetch'].map((name) => [name, { valid: { id: 'c1' }, unknown: { id: 'nobody' } }]));
describeConformance({
  connector,
  config: { baseUrl: 'http://127.0.0.1:' + backend.address().port + '/shop/api' },
  samples,
  packageJson: { name: '@acme/connector-planted', version: '1.0.0' },
  callLimitMs: 2_000,
  abortSettleLimitMs: 300,
});
`;

let dir: string;
let run: ReturnType<typeof spawnSync>;

before(() => {
  // Below the repository, so that `omnigate/sdk` resolves as in a connector folder.
  mkdirSync(join(ROOT_DIR, '.data'), { recursive: true });
  dir = mkdtempSync(join(ROOT_DIR, '.data/kit-conformance-'));
  writeFileSync(join(dir, 'planted.test.mjs'), SUITE);
  const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
  run = spawnSync(process.execPath, ['--test', '--test-force-exit', '--test-reporter=spec', join(dir, 'planted.test.mjs')], { cwd: dir, encoding: 'utf8', env, timeout: 60_000 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const output = (): string => `${String(run.stdout)}\n${String(run.stderr)}`;
const failed = (name: string): boolean => output().split('\n').some((line) => line.includes('✖') && line.includes(name));
const passed = (name: string): boolean => output().split('\n').some((line) => line.includes('✔') && line.includes(name));

test('fails the 5xx check of a capability that maps a 503 to NotFoundError, saying what it got', () => {
  assert.notEqual(run.status, 0, output());
  assert.ok(failed('planted: customer.peek maps a 5xx error reply to UpstreamUnavailableError'), output());
  assert.match(output(), /error reply 503: expected UpstreamUnavailableError, got NotFoundError: no such contact/);
});

test('fails the abort check of a capability that does not pass ctx.signal on, saying it stayed pending', () => {
  assert.ok(failed('planted: customer.fetch rejects when its signal aborts while the backend hangs'), output());
  assert.match(output(), /still pending 300 ms after the signal aborted/);
});

test('fails nothing else: the sound capability, the faults the planted ones handle, and the context path all pass', () => {
  assert.match(output(), /^ℹ fail 2$/m, output());
  for (const name of [
    'planted: customer.get answers data valid against the canonical Customer schema',
    'planted: customer.get maps an unknown id to NotFoundError',
    'planted: customer.get maps a 5xx error reply to UpstreamUnavailableError',
    'planted: customer.get rejects when its signal aborts while the backend hangs',
    'planted: customer.peek rejects when its signal aborts while the backend hangs',
    'planted: customer.fetch maps a 5xx error reply to UpstreamUnavailableError',
    'planted: customer.fetch refuses a garbage reply (BadUpstreamDataError or schema-invalid data)',
    'planted: keeps its package name and version in step with the manifest',
    'planted: honours the abort signal while it (re)acquires credentials',
  ]) {
    assert.ok(passed(name), `${name} should pass:\n${output()}`);
  }
});

test('fails every check that calls the backend when config.baseUrl is no http(s) URL, saying so, and still runs the others', () => {
  writeFileSync(join(dir, 'ftp.test.mjs'), FTP_SUITE);
  const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
  const ftp = spawnSync(process.execPath, ['--test', '--test-force-exit', '--test-reporter=spec', join(dir, 'ftp.test.mjs')], { cwd: dir, encoding: 'utf8', env, timeout: 60_000 });
  const lines = `${ftp.stdout}\n${ftp.stderr}`;
  assert.equal(ftp.status, 1, lines);
  assert.ok(lines.split('\n').some((line) => line.includes('✖') && line.includes('ftp: authenticates against the real backend with the real config')), lines);
  assert.ok(lines.split('\n').some((line) => line.includes('✔') && line.includes('ftp: declares a manifest the registry accepts')), lines);
  assert.match(lines, /cannot call the backend: .*config\.baseUrl must be the backend's http\(s\) URL .*got "ftp:\/\/files\.example\/x"/);
});

const FTP_SUITE = `
import { defineConnector, noAuth } from 'omnigate/sdk';
import { describeConformance } from 'omnigate/sdk/testing';

const connector = defineConnector({
  manifest: {
    name: 'ftp', version: '1.0.0', system: 'ftp', description: 'A connector whose baseUrl is not HTTP.',
    configSchema: { type: 'object', required: ['baseUrl'], properties: { baseUrl: { type: 'string', format: 'uri' } } },
    capabilities: [{ name: 'file.get', kind: 'query', description: 'A file.', result: 'Customer', params: { type: 'object', properties: { id: { type: 'string' } } } }],
  },
  auth: async () => noAuth(),
  queries: { 'file.get': async () => ({ id: '1', displayName: 'one' }) },
  health: async () => ({ ok: true }),
});
describeConformance({ connector, config: { baseUrl: 'ftp://files.example/x' }, samples: { 'file.get': { valid: {}, unknown: {} } } });
`;
