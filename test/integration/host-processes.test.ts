import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { API_KEY, ROOT_DIR } from '../support/gateway.ts';
import { gatewayProcesses, startScript, type GatewayProcess } from '../support/gateway-process.ts';
import { waitFor } from '../support/wait.ts';

// One host running two gateway processes behind one port (OMNIGATE_PROCESSES=2), without Kafka:
// the processes are nodes of their own, and the primary relays lifecycle commands between them,
// writes the one audit trail and aggregates their metrics. Then the defaults of npm start, and a
// host of two processes with Kafka.
const ADMIN_KEY = 'host-processes-admin-key-0123456789';
const nodes = gatewayProcesses();
let host: GatewayProcess;

before(async () => {
  host = await nodes.start({ name: 'host', env: { OMNIGATE_PROCESSES: '2', KAFKA_BROKERS: undefined, OMNIGATE_ADMIN_KEYS: `ops:${ADMIN_KEY}` } });
  await waitFor('both processes listening', () => (listening().length >= 2 ? true : undefined), { timeoutMs: 30_000 });
});

/**
 * One request on a connection of its own, so that the host's primary hands each to a process of
 * its choosing; or, given a keep-alive `agent`, on that agent's connection (`reused`: it was open already).
 */
function fresh(path: string, options: { method?: string; key?: string; agent?: Agent } = {}): Promise<{ status: number; body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const connection = options.agent ? { agent: options.agent } : { agent: false as const, headers: { connection: 'close' } };
    const req = request({ host: '127.0.0.1', port: host.port, path, method: options.method ?? 'GET', agent: connection.agent, headers: { 'x-api-key': options.key ?? API_KEY, ...connection.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end();
  });
}

type Line = Record<string, unknown>;
const listening = (): Line[] => host.logs().filter((l) => l.msg === 'gateway listening');
const pidsOf = (lines: Line[]): Set<unknown> => new Set(lines.map((l) => l.pid));

test('serves from each process on one port, and /metrics answers for the whole host', async () => {
  const ids = listening().map((l) => l.nodeId).sort();
  assert.deepEqual(ids, [`${host.nodeId}-p0`, `${host.nodeId}-p1`]);
  const before = host.logs().length;
  for (let i = 0; i < 20; i++) assert.equal((await fresh('/v1/connectors')).status, 200);
  const served = await waitFor('the access lines', () => {
    const lines = host.logs().slice(before).filter((l) => l.msg === 'request done' && l.path === '/v1/connectors');
    return lines.length >= 20 ? lines : undefined;
  });
  assert.equal(pidsOf(served).size, 2, 'both processes answered');
  const metrics = await fresh('/metrics');
  const count = Number(/omnigate_http_requests_total\{method="GET",route="\/v1\/connectors",status="200"\} (\d+)/.exec(metrics.body)?.[1]);
  assert.ok(count >= 20, `the host counted ${count} of the 20 requests: one process alone has about half`);
  // The bulkhead is stated per host: each of the two processes takes half of the default 32.
  for (let i = 0; i < 6; i++) assert.equal((await fresh('/v1/orders/ORD-0000001')).status, 200);
  const views = await Promise.all(Array.from({ length: 6 }, () => fresh('/v1/connectors')));
  const limits = views.map((v) => (JSON.parse(v.body) as { connectors: { name: string; bulkhead?: { maxConcurrent: number } }[] }).connectors.find((c) => c.name === 'orders-java')?.bulkhead?.maxConcurrent);
  assert.ok(limits.some((l) => l !== undefined), 'no process showed its bulkhead');
  assert.deepEqual([...new Set(limits.filter((l) => l !== undefined))], [16]);
});

test('a lifecycle change on one process reaches the other without Kafka, and the primary writes the one audit trail', async () => {
  const before = host.logs().length;
  const reload = await fresh('/v1/admin/connectors/tickets-node/reload', { method: 'POST', key: ADMIN_KEY });
  assert.equal(reload.status, 200, reload.body);
  const lines = await waitFor('the other process running it', () => {
    const after = host.logs().slice(before);
    const followed = after.find((l) => l.msg === 'ran a lifecycle command from another node' && l.action === 'reload' && l.connector === 'tickets-node');
    return followed ? after : undefined;
  });
  const origin = lines.find((l) => l.msg === 'request done' && l.path === '/v1/admin/connectors/tickets-node/reload');
  const follower = lines.find((l) => l.msg === 'ran a lifecycle command from another node');
  assert.notEqual(follower?.pid, origin?.pid, 'the process that took the request did not run it twice');
  // Both runs are in the one file, whole lines, and every process reads the same trail.
  const records = await waitFor('both audit records', () => {
    const all = host.auditRecords() as { action: string; connector: string; actor: string }[];
    const reloads = all.filter((r) => r.action === 'reload' && r.connector === 'tickets-node');
    return reloads.length >= 2 ? reloads : undefined;
  });
  assert.equal(records.length, 2);
  assert.ok(records.some((r) => r.actor === 'ops') && records.some((r) => r.actor.startsWith('ops@')), JSON.stringify(records));
  const trails = await Promise.all(Array.from({ length: 6 }, () => fresh('/v1/admin/audit?limit=5', { key: ADMIN_KEY })));
  const seen = new Set(trails.map((t) => t.body));
  assert.equal(seen.size, 1, 'every process answers the same trail');
});

test('the primary is the only audit writer: while it is paused, an admin change writes no line; once it runs again, it writes them', async () => {
  const reloadsIn = () => host.auditRecords().filter((r) => r.action === 'reload' && r.connector === 'crm-python').length;
  const before = reloadsIn();
  // A kept-alive connection is a process's own once handed to it: requests on it reach that process with the primary paused.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const primary = Number(host.child.pid);
  try {
    assert.equal((await fresh('/v1/connectors', { agent })).status, 200);
    const logged = host.logs().length;
    process.kill(primary, 'SIGSTOP');
    const reload = fresh('/v1/admin/connectors/crm-python/reload', { method: 'POST', key: ADMIN_KEY, agent });
    let answered = false;
    void reload.then(() => (answered = true), () => (answered = true));
    // The process made the change (it logs that before it hands the audit record over); within the
    // 5 s it waits for the primary's answer, nothing may have written the record.
    await waitFor('the process reloading the connector', () =>
      host.logs().slice(logged).some((l) => l.msg === 'connector lifecycle change' && l.connector === 'crm-python' && l.action === 'reload') || undefined, { timeoutMs: 4_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(reloadsIn(), before, 'a process wrote the audit record itself');
    assert.equal(answered, false, 'the change was answered before its audit record was written');
    process.kill(primary, 'SIGCONT');
    const answer = await reload;
    assert.equal(answer.status, 200, answer.body);
    assert.equal(answer.reused, true, 'the reload went on the connection the process already had');
    await waitFor('both records, written by the primary', () => (reloadsIn() === before + 2 ? true : undefined));
  } finally {
    process.kill(primary, 'SIGCONT');
    agent.destroy();
  }
});

test('a process that dies is started again with the same node id', async () => {
  const [first] = listening();
  assert.ok(first);
  const victim = listening().filter((l) => l.nodeId === first.nodeId).at(-1);
  process.kill(Number(victim?.pid), 'SIGKILL');
  const again = await waitFor('the process started again', () => listening().find((l) => l.nodeId === first.nodeId && l.pid !== victim?.pid), { timeoutMs: 30_000 });
  assert.equal(again.nodeId, first.nodeId);
  assert.ok(host.logs().some((l) => l.msg === 'a gateway process ended: starting it again' && l.pid !== victim?.pid));
  for (let i = 0; i < 6; i++) assert.equal((await fresh('/v1/connectors')).status, 200);
});

test('npm start and the docker image run one process per core unless told otherwise', async () => {
  const started = await nodes.start({ name: 'npm-start', npmStart: true, env: { KAFKA_BROKERS: undefined } });
  const cores = availableParallelism();
  const ids = await waitFor('every process listening', () => {
    const lines = started.logs().filter((l) => l.msg === 'gateway listening').map((l) => String(l.nodeId)).sort();
    return lines.length >= cores ? lines : undefined;
  }, { timeoutMs: 30_000 });
  assert.deepEqual(ids, cores === 1 ? [started.nodeId] : Array.from({ length: Math.min(cores, 99) }, (_, i) => `${started.nodeId}-p${i}`).sort());
  assert.equal((await started.api('/v1/connectors')).status, 200);
  await started.stop();
  // The image runs the entry npm start runs, with the same default.
  const dockerfile = readFileSync(join(ROOT_DIR, 'docker/gateway.Dockerfile'), 'utf8');
  assert.match(dockerfile, /^ENV .*\bOMNIGATE_PROCESSES=auto\b/m);
  assert.match(dockerfile, /^CMD \["node", "--import", "\.\/src\/instrument\.ts", "src\/main\.ts"\]$/m);
  assert.match(startScript(), /--import \.\/src\/instrument\.ts src\/main\.ts$/);
});

test('with Kafka, a lifecycle change on one process runs once on each other process, and the audit trail has one record per process', async () => {
  const kafkaHost = await nodes.start({ name: 'kafka-host', env: { OMNIGATE_PROCESSES: '2', OMNIGATE_ADMIN_KEYS: `ops:${ADMIN_KEY}` } });
  const listeningOn = () => kafkaHost.logs().filter((l) => l.msg === 'gateway listening');
  await waitFor('both processes listening', () => (listeningOn().length >= 2 ? true : undefined), { timeoutMs: 30_000 });
  const reload = await kafkaHost.api('/v1/admin/connectors/orders-java/reload', { method: 'POST', headers: { 'x-api-key': ADMIN_KEY } });
  assert.equal(reload.status, 200, await reload.text());
  const followers = () => kafkaHost.logs().filter((l) => l.msg === 'ran a lifecycle command from another node' && l.action === 'reload' && l.connector === 'orders-java');
  await waitFor('the other process running it', () => (followers().length >= 1 ? true : undefined), { timeoutMs: 30_000 });
  // Time for a second delivery (the primary's relay as well as Kafka) to show.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  assert.equal(followers().length, 1, JSON.stringify(followers()));
  const reloads = kafkaHost.auditRecords().filter((r) => r.action === 'reload' && r.connector === 'orders-java');
  assert.equal(reloads.length, 2);
});
