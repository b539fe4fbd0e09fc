import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { connectorEnv } from '../../scripts/lib/backends.ts';
import { COMMANDS_TOPIC, EVENTS_TOPIC } from '../../src/adapters/kafka/kafka-event-bus.ts';
import { packTarball, scratchDir } from '../support/connector-packages.ts';
import { ROOT_DIR } from '../support/gateway.ts';
import { port, TEST_KAFKA_BROKERS, TEST_REDIS_URL, TEST_URLS } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

// A real gateway process (so that /proc/self/environ is its own) with sentinel secrets planted in
// every place a secret can come from; then everything it writes is searched for them.
const tag = randomBytes(6).toString('hex');
// '/' and '+' make the URL-encoded form differ from the raw one.
const SENTINELS = {
  apiKey: `sentinel/api+${tag}-key`,
  adminKey: `sentinel/admin+${tag}-key`,
  apiToken: `sentinel/token+${tag}-probe`,
  hmacSecret: `sentinel/hmac+${tag}-probe`,
  webhookSecret: `sentinel/whsec+${tag}-sub`,
  ...Object.fromEntries(Object.entries(connectorEnv(TEST_URLS)).filter(([name]) => /SECRET|TOKEN/.test(name))),
};
const forms = (secret: string): string[] => [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('base64url'), encodeURIComponent(secret)];

// An installed connector that tries everything: logs its config and secrets (nested, encoded),
// throws them, reports them and what it can see of the environment through its health check.
const PROBE_SOURCE = `import { readFileSync } from 'node:fs';
import { defineConnector } from 'omnigate/sdk';
const leaks = (s) => ({ raw: s, base64: Buffer.from(s).toString('base64'), url: encodeURIComponent(s) });
const environNames = () => readFileSync('/proc/self/environ', 'utf8').split('\\0').filter(Boolean).map((e) => e.slice(0, e.indexOf('=')));
export default defineConnector({
  manifest: {
    name: 'secret-probe', version: '1.0.0', system: 'probe', description: 'tries to leak its secrets',
    configSchema: { type: 'object', required: ['baseUrl', 'apiToken', 'hmacSecret'], properties: {
      baseUrl: { type: 'string' }, apiToken: { type: 'string', 'x-secret': true }, hmacSecret: { type: 'string', 'x-secret': true } } },
    capabilities: [{ name: 'probe.leak', kind: 'query', description: 'leaks', params: { type: 'object' }, result: 'Order' }],
    events: { types: ['ticket.created'] },
  },
  async webhook(_delivery, { config }) {
    throw new Error('probe-text: the signature should use ' + config.hmacSecret);
  },
  async auth({ config, log }) {
    log.debug({ config }, 'my config');
    log.info({ deep: { a: { b: { clientSecret: config.apiToken, other: config.hmacSecret } } }, encoded: leaks(config.hmacSecret) }, 'nested');
    return { authorize(req) { req.headers.authorization = 'Bearer ' + config.apiToken; } };
  },
  queries: {
    'probe.leak': async (_params, ctx) => {
      ctx.log.debug({ token: ctx.config.apiToken, leaks: leaks(ctx.config.apiToken), apiToken: ctx.config.apiToken }, 'leak');
      ctx.log.warn('the token is ' + ctx.config.apiToken + ' and ' + encodeURIComponent(ctx.config.hmacSecret));
      throw new Error('refused ' + JSON.stringify(leaks(ctx.config.apiToken)));
    },
  },
  async health({ config }) {
    return { ok: false, detail: JSON.stringify({ envKeys: Object.keys(process.env), environNames: environNames(), configKeys: Object.keys(config), leaks: leaks(config.apiToken) }) };
  },
});
`;

const PORT = port(18191);
const base = `http://127.0.0.1:${PORT}`;
let dir: string;
let output = '';
let child: ReturnType<typeof spawn> | undefined;
/** Every body the gateway answered in this file. */
const bodies: string[] = [];

const call = async (path: string, key: string | undefined, init: RequestInit = {}): Promise<{ status: number; text: string }> => {
  const res = await fetch(`${base}${path}`, { ...init, headers: { ...(key ? { 'x-api-key': key } : {}), ...(init.headers as Record<string, string>) } });
  const text = await res.text();
  bodies.push(text);
  return { status: res.status, text };
};

/** The gateway process may not be listening yet (a probe that throws is "not yet"); on a time-out, what it wrote last. */
const WAIT = { timeoutMs: 30_000, intervalMs: 100, retryOnError: true, detail: () => output.slice(-2000) };

before(async () => {
  dir = scratchDir('secrets');
  mkdirSync(join(dir, 'connectors'));
  for (const name of ['orders-java', 'crm-python', 'tickets-node']) symlinkSync(join(ROOT_DIR, 'connectors', name), join(dir, 'connectors', name));
  child = spawn(process.execPath, [join(ROOT_DIR, 'src/main.ts')], {
    cwd: ROOT_DIR,
    env: {
      PATH: process.env.PATH ?? '', LOG_LEVEL: 'debug', PORT: String(PORT), REDIS_URL: TEST_REDIS_URL, KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','),
      NODE_ID: `secrets-${tag}`, OMNIGATE_EVENT_POLLING: 'false', OMNIGATE_WEBHOOK_ALLOW_PRIVATE: 'true',
      OMNIGATE_API_KEYS: `sentinel:${SENTINELS.apiKey}`, OMNIGATE_ADMIN_KEYS: `ops:${SENTINELS.adminKey}`,
      OMNIGATE_CONNECTORS_DIR: join(dir, 'connectors'), OMNIGATE_PACKAGE_STORE_DIR: join(dir, 'store'), OMNIGATE_AUDIT_FILE: join(dir, 'audit.jsonl'),
      ...connectorEnv(TEST_URLS),
      OMNIGATE_CONNECTOR_SECRET_PROBE_BASE_URL: TEST_URLS.crm,
      OMNIGATE_CONNECTOR_SECRET_PROBE_API_TOKEN: SENTINELS.apiToken,
      OMNIGATE_CONNECTOR_SECRET_PROBE_HMAC_SECRET: SENTINELS.hmacSecret,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  await waitFor('the gateway to be ready', async () => (await fetch(`${base}/readyz`)).status === 200, WAIT);

  const pkg = join(scratchDir('secret-probe'), 'package');
  mkdirSync(join(pkg, 'src'), { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'secret-probe', version: '1.0.0', type: 'module', main: './src/index.ts', omnigate: { connector: true } }));
  writeFileSync(join(pkg, 'src/index.ts'), PROBE_SOURCE);
  const tarball = await packTarball(pkg);
  rmSync(join(pkg, '..'), { recursive: true, force: true });
  const installed = await call('/v1/admin/connectors/secret-probe', SENTINELS.adminKey, { method: 'PUT', headers: { 'content-type': 'application/gzip' }, body: new Uint8Array(tarball) });
  assert.equal(installed.status, 200, installed.text);
});

after(async () => {
  if (child && child.exitCode === null) {
    // Installed over Kafka, the probe is the cluster's desired state: remove it so that no gateway
    // started later in this run (same Redis) brings it up at start.
    await call('/v1/admin/connectors/secret-probe', SENTINELS.adminKey, { method: 'DELETE' });
    const exited = new Promise((r) => child?.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

type Listed = { name: string; state: string; problem?: { stage: string; message?: string } };

describe('connector trust', () => {
  test('an installed connector sees its own config but not the gateway environment in process.env; /proc/self/environ still shows it', async () => {
    const listed = await call('/v1/connectors', SENTINELS.apiKey);
    const probe = (JSON.parse(listed.text) as { connectors: Listed[] }).connectors.find((c) => c.name === 'secret-probe');
    assert.equal(probe?.state, 'unhealthy');
    const seen = JSON.parse(probe?.problem?.message ?? '{}') as { envKeys: string[]; environNames: string[]; configKeys: string[] };
    assert.deepEqual(seen.envKeys, [], 'process.env of a connector worker is empty');
    assert.deepEqual(seen.configKeys.sort(), ['apiToken', 'baseUrl', 'hmacSecret']);
    // Worker threads share the process: what it was started with is readable. Installed connectors are trusted code.
    for (const name of ['OMNIGATE_ADMIN_KEYS', 'OMNIGATE_API_KEYS', 'OMNIGATE_CONNECTOR_ORDERS_JAVA_CLIENT_SECRET']) assert.ok(seen.environNames.includes(name), name);
  });

  test('/readyz shows states and stages, never what a connector wrote', async () => {
    const ready = await call('/readyz', undefined);
    const probe = (JSON.parse(ready.text) as { connectors: Listed[] }).connectors.find((c) => c.name === 'secret-probe');
    assert.deepEqual(probe, { name: 'secret-probe', state: 'unhealthy', problem: { stage: 'health' } });
    assert.doesNotMatch(ready.text, /envKeys|environNames|OMNIGATE_/);
  });

  test('a refused inbound webhook (no key needed) gets the code, never what the connector wrote', async () => {
    const refused = await call('/v1/inbound/secret-probe', undefined, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(JSON.parse(refused.text).code, 'CONNECTOR_FAILED');
    assert.doesNotMatch(refused.text, /probe-text/);
    // For the operator, in the log (written after the answer: waited for, not assumed).
    await waitFor('the refusal in the log', () => output.includes('probe-text'), WAIT);
  });
});

describe('secrets', () => {
  test('no secret, raw, base64 or URL-encoded, reaches the logs, problem bodies, /readyz, /v1/connectors, the audit file or Kafka', async () => {
    const subscribed = await call('/v1/webhooks/subscriptions', SENTINELS.apiKey, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', secret: SENTINELS.webhookSecret, types: ['connector.changed'] }),
    });
    assert.equal(subscribed.status, 201, subscribed.text);
    const { id } = JSON.parse(subscribed.text) as { id: string };
    const leaked = await call('/v1/query', undefined, {
      method: 'POST', headers: { authorization: `Bearer ${SENTINELS.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ capability: 'probe.leak', params: {} }),
    });
    assert.equal(leaked.status, 502, leaked.text);
    assert.match(leaked.text, /\[redacted\]/);
    await call('/v1/admin/connectors/nothing-here/reload', SENTINELS.apiKey, { method: 'POST' });
    await call('/v1/orders/ORD-0000001', SENTINELS.adminKey);
    await call('/readyz', undefined);
    await call('/v1/connectors', SENTINELS.apiKey);
    await call(`/v1/webhooks/subscriptions/${id}`, SENTINELS.apiKey, { method: 'DELETE' });

    const kafka = await kafkaContent(`secret-probe`);
    const logged = (msg: string) => output.includes(`"msg":"${msg}"`);
    await waitFor('the connector\'s log lines', () => ['my config', 'nested', 'leak'].every(logged), WAIT);
    assert.match(output, /"level":20/, 'the logs are at debug');
    const places: Record<string, string> = { logs: output, bodies: bodies.join('\n'), audit: readFileSync(join(dir, 'audit.jsonl'), 'utf8'), kafka };
    assert.match(places.audit ?? '', /secret-probe/);
    for (const [place, text] of Object.entries(places)) {
      for (const [name, secret] of Object.entries(SENTINELS)) {
        for (const form of forms(secret)) assert.ok(!text.includes(form), `${name} (${form}) in ${place}`);
      }
    }
  });

  test('a subscription secret that reads like ordinary log text leaves every log line as it was', async () => {
    // Any key holder picks a subscription's secret: it must never become something the logs are scrubbed of.
    const ordinary = '"msg":"request done"';
    const subscribed = await call('/v1/webhooks/subscriptions', SENTINELS.apiKey, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', secret: ordinary, types: ['connector.changed'] }),
    });
    assert.equal(subscribed.status, 201, subscribed.text);
    const { id } = JSON.parse(subscribed.text) as { id: string };
    const marker = `/v1/orders/ORD-${tag}`;
    await call(marker, SENTINELS.apiKey);
    await call(`/v1/webhooks/subscriptions/${id}`, SENTINELS.apiKey, { method: 'DELETE' });
    const line = await waitFor('the log line of the marked request', () => output.split('\n').find((l) => l.includes(`"path":"${marker}"`)), WAIT);
    assert.ok(line.includes(ordinary), line);
  });
});

/** Everything on the gateway's topics, read until the install of `connector` has been relayed. */
async function kafkaContent(connector: string): Promise<string> {
  const consumer = new Kafka({ clientId: 'secrets-test', brokers: TEST_KAFKA_BROKERS, logLevel: logLevel.NOTHING }).consumer({ groupId: `secrets-${tag}` });
  const seen: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [EVENTS_TOPIC, COMMANDS_TOPIC], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(`${message.key?.toString() ?? ''} ${message.value?.toString() ?? ''}`) });
    await waitFor('the install event on Kafka', () => seen.some((m) => m.includes('connector.changed') && m.includes(connector) && m.includes('install')), WAIT);
  } finally {
    await consumer.disconnect();
  }
  return seen.join('\n');
}
