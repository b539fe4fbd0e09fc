import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { renameSync, rmSync, symlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectorEnv } from '../../scripts/lib/backends.ts';
import { copyConnector, namePackage, packTarball, scratchDir } from '../support/connector-packages.ts';
import { API_KEY, ROOT_DIR } from '../support/gateway.ts';
import { port, TEST_KAFKA_BROKERS, TEST_REDIS_CACHE_URL, TEST_REDIS_URL, TEST_URLS } from '../support/ports.ts';

const ADMIN_KEY = 'admin-key-cluster-0123456789';
interface Node {
  readonly url: string;
  readonly child: ChildProcess;
  readonly dir: string;
}
const nodes: Node[] = [];

/** tickets-node under a name of this file's own: what it leaves in Redis's desired state concerns no other test. */
const TICKETS = 'tickets-cluster';
const asTickets = (source: string) => source.replace("name: 'tickets-node'", `name: '${TICKETS}'`);
const ticketsEnv = Object.fromEntries(Object.entries(connectorEnv(TEST_URLS)).filter(([k]) => k.includes('_TICKETS_NODE_')).map(([k, v]) => [k.replace('_TICKETS_NODE_', '_TICKETS_CLUSTER_'), v]));

/** A whole gateway process, as ops would run one of several: on one host, with the default NODE_ID. */
async function startNode(name: string, httpPort: number, withTickets = false): Promise<Node> {
  const dir = scratchDir(`cluster-${name}`);
  symlinkSync(join(ROOT_DIR, 'connectors/crm-python'), join(dir, 'crm-python'));
  copyConnector('orders-java', dir, '1.0.0');
  if (withTickets) renameSync(namePackage(copyConnector('tickets-node', dir, '1.0.0', asTickets), TICKETS), join(dir, TICKETS));
  const child = spawn(process.execPath, [join(ROOT_DIR, 'src/main.ts')], {
    cwd: ROOT_DIR,
    env: {
      PATH: process.env.PATH ?? '', ...connectorEnv(TEST_URLS), ...ticketsEnv, REDIS_URL: TEST_REDIS_URL, REDIS_CACHE_URL: TEST_REDIS_CACHE_URL, KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','),
      PORT: String(httpPort), OMNIGATE_API_KEYS: `test:${API_KEY}`,
      // The test key's limit is shared in Redis with every other test using it.
      OMNIGATE_RATE_LIMIT_PER_KEY: '1000000', OMNIGATE_ADMIN_KEYS: `ops:${ADMIN_KEY}`, OMNIGATE_CONNECTORS_DIR: dir,
      OMNIGATE_PACKAGE_STORE_DIR: join(dir, '.store'), OMNIGATE_AUDIT_FILE: join(dir, 'audit.jsonl'), LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const node = { url: `http://127.0.0.1:${httpPort}`, child, dir };
  nodes.push(node);
  for (let i = 0; i < 150; i++) {
    const ready = await fetch(`${node.url}/readyz`).then((r) => r.json() as Promise<{ status: string }>, () => undefined);
    if (ready?.status === 'ready') return node;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`node ${name} did not become ready`);
}

const versionOn = async (node: Node, connector = 'orders-java'): Promise<string | undefined> => {
  const { connectors } = (await (await fetch(`${node.url}/v1/connectors`, { headers: { 'x-api-key': API_KEY } })).json()) as { connectors: { name: string; version?: string }[] };
  return connectors.find((c) => c.name === connector)?.version;
};

before(async () => {
  await Promise.all([startNode('a', port(18281)), startNode('b', port(18282))]);
});
after(async () => {
  for (const node of nodes) {
    node.child.kill('SIGTERM');
    await new Promise((r) => node.child.once('exit', r));
    rmSync(node.dir, { recursive: true, force: true });
  }
});

describe('two gateway processes on one host and one bus, NODE_ID left to its default', () => {
  test('a connector installed on one node reaches the other through the bus, audited there with where it came from', async () => {
    const [a, b] = nodes as [Node, Node];
    const folder = copyConnector('orders-java', scratchDir('cluster-pkg'), '4.2.0');
    const tarball = await packTarball(folder);
    rmSync(join(folder, '..'), { recursive: true, force: true });
    const res = await fetch(`${a.url}/v1/admin/connectors/orders-java`, { method: 'PUT', headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/gzip' }, body: new Uint8Array(tarball) });
    assert.equal(res.status, 200);
    assert.equal(await versionOn(a), '4.2.0');
    let onB: string | undefined;
    for (let i = 0; i < 100 && onB !== '4.2.0'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      onB = await versionOn(b);
    }
    assert.equal(onB, '4.2.0');
    const { records } = (await (await fetch(`${b.url}/v1/admin/audit`, { headers: { 'x-api-key': ADMIN_KEY } })).json()) as { records: { actor: string; action: string; to?: string }[] };
    assert.equal(records[0]?.action, 'install');
    assert.equal(records[0]?.to, '4.2.0');
    assert.equal(records[0]?.actor, `ops@${hostname()}-${port(18281)}`, 'audited with the node it came from');

    const rolled = await fetch(`${b.url}/v1/admin/connectors/orders-java/rollback`, { method: 'POST', headers: { 'x-api-key': ADMIN_KEY } });
    assert.equal(rolled.status, 200);
    let onA: string | undefined;
    for (let i = 0; i < 100 && onA !== '1.0.0'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      onA = await versionOn(a);
    }
    assert.equal(onA, '1.0.0', 'and back the other way');
  });
});

describe('a node that joins a running cluster', () => {
  test('does not re-apply a command issued before it first started, and runs one issued while it runs', async () => {
    const [a] = nodes as [Node];
    const admin = (node: Node, path: string) => fetch(`${node.url}/v1/admin/connectors/${path}`, { method: 'POST', headers: { 'x-api-key': ADMIN_KEY } });
    const auditOn = async (node: Node) => ((await (await fetch(`${node.url}/v1/admin/audit`, { headers: { 'x-api-key': ADMIN_KEY } })).json()) as { records: { actor: string; action: string; connector: string }[] }).records;
    const fromA = `ops@${hostname()}-${port(18281)}`;
    assert.equal((await admin(a, 'orders-java/reload')).status, 200);
    // A node id new to the cluster (as after an upgrade that changed NODE_ID): a consumer group new to the commands topic.
    const c = await startNode('c', port(18283));
    assert.equal((await admin(a, 'crm-python/reload')).status, 200);
    let records = await auditOn(c);
    for (let i = 0; i < 100 && !records.some((r) => r.actor === fromA && r.connector === 'crm-python'); i++) {
      await new Promise((r) => setTimeout(r, 200));
      records = await auditOn(c);
    }
    // Commands reach a node in the order given: the earlier ones were handled (and skipped) before this one.
    assert.deepEqual(records.filter((r) => r.actor.startsWith('ops@')).map((r) => `${r.action} ${r.connector}`), ['reload crm-python']);
  });
});

describe('a node added to a running cluster', () => {
  test('comes up with the connectors installed through the admin API before it started, without those removed since, and lists one it could not install as failed', async () => {
    const [a] = nodes as [Node];
    const folder = namePackage(copyConnector('tickets-node', scratchDir('cluster-tickets'), '3.1.0', asTickets), TICKETS);
    const tarball = await packTarball(folder);
    rmSync(join(folder, '..'), { recursive: true, force: true });
    const installed = await fetch(`${a.url}/v1/admin/connectors/${TICKETS}`, { method: 'PUT', headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/gzip' }, body: new Uint8Array(tarball) });
    assert.equal(installed.status, 200);

    // Its folder does not hold the connector: only the cluster's desired state does.
    const c = await startNode('added-c', port(18284));
    assert.equal(await versionOn(c, TICKETS), '3.1.0', 'ready with the installed version');
    const answer = await fetch(`${c.url}/v1/query`, { method: 'POST', headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ capability: 'ticket.get', params: { id: 'TCK-100001' } }) });
    assert.equal(answer.status, 200);
    assert.equal(((await answer.json()) as { data: { id: string } }).data.id, 'TCK-100001');
    const { records } = (await (await fetch(`${c.url}/v1/admin/audit`, { headers: { 'x-api-key': ADMIN_KEY } })).json()) as { records: { actor: string; action: string; connector: string; to?: string }[] };
    assert.ok(records.some((r) => r.actor === 'system@cluster' && r.action === 'install' && r.connector === TICKETS && r.to === '3.1.0'), 'audited as done by the cluster');

    assert.equal((await fetch(`${a.url}/v1/admin/connectors/${TICKETS}`, { method: 'DELETE', headers: { 'x-api-key': ADMIN_KEY } })).status, 200);
    // And one wanted installed whose package is gone (as after losing Redis's copy): D serves without it and says so.
    const redis = new Redis(TEST_REDIS_URL);
    const gone = JSON.stringify({ connector: 'gone-cluster', state: 'installed', version: '9.9.9', package: 'f'.repeat(64) });
    await redis.multi().hset('omnigate:cluster:desired', 'gone-cluster', gone).sadd('omnigate:cluster:desired:connectors', 'gone-cluster').exec();
    try {
      // Its folder holds the connector, which the cluster removed.
      const d = await startNode('added-d', port(18285), true);
      assert.equal(await versionOn(d, TICKETS), undefined);
      const { connectors } = (await (await fetch(`${d.url}/v1/connectors`, { headers: { 'x-api-key': API_KEY } })).json()) as { connectors: { name: string; state: string; problem?: { message: string } }[] };
      const failed = connectors.find((x) => x.name === 'gone-cluster');
      assert.equal(failed?.state, 'failed');
      assert.match(failed?.problem?.message ?? '', /9\.9\.9 is gone from Redis/);
    } finally {
      // Other gateways of this run share the Redis.
      await redis.multi().hdel('omnigate:cluster:desired', 'gone-cluster').srem('omnigate:cluster:desired:connectors', 'gone-cluster').exec();
      redis.disconnect();
    }
  });
});
