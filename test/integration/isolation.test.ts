import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { scratchDir } from '../support/connector-packages.ts';
import { ROOT_DIR, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { waitFor } from '../support/wait.ts';

// A connector that misbehaves on demand; `ok` answers a valid canonical Customer.
const CHAOS = `import { defineConnector } from 'omnigate/sdk';
const customer = { id: '1', displayName: 'A B', givenName: 'A', familyName: 'B', email: 'a@example.com', tier: 'standard', language: 'en',
  createdAt: '2024-01-01T00:00:00.000Z', lifetimeValue: { amount: '0.00', currency: 'EUR' }, externalIds: {} };
const hoard = [];
export default defineConnector({
  manifest: { name: 'chaos', version: '1.0.0', system: 'chaos', description: 'misbehaves on demand',
    configSchema: { type: 'object', properties: { baseUrl: { type: 'string', default: 'http://127.0.0.1:9' } } },
    capabilities: [{ name: 'chaos.get', kind: 'query', description: 'x', result: 'Customer',
      params: { type: 'object', required: ['mode'], properties: { mode: { enum: ['ok', 'throw', 'block', 'stall', 'garbage', 'leak', 'crash'] } } } }] },
  async auth() { return { authorize() {} }; },
  queries: { 'chaos.get': async ({ mode }) => {
    if (mode === 'throw') throw new TypeError('cannot read properties of undefined');
    if (mode === 'block') { for (;;) {} }
    if (mode === 'stall') { const until = Date.now() + 300; while (Date.now() < until) {} }
    if (mode === 'garbage') { let kept = 0; for (let i = 0; i < 1e6; i++) kept += { i, s: String(i) }.s.length; if (kept < 0) hoard.push(kept); }
    if (mode === 'leak') { for (;;) hoard.push(new Array(1e6).fill(Math.random())); }
    if (mode === 'crash') { setTimeout(() => { throw new Error('boom'); }); return new Promise(() => {}); }
    return customer;
  } },
  async health() { return { ok: true }; },
});
`;

let dir: string;
let gw: TestGateway;
before(async () => {
  dir = scratchDir('isolation');
  for (const name of ['crm-python', 'orders-java', 'tickets-node']) symlinkSync(join(ROOT_DIR, 'connectors', name), join(dir, name));
  mkdirSync(join(dir, 'chaos/src'), { recursive: true });
  writeFileSync(join(dir, 'chaos/package.json'), JSON.stringify({ name: 'chaos', version: '1.0.0', type: 'module', main: './src/index.js' }));
  writeFileSync(join(dir, 'chaos/src/index.js'), CHAOS);
  gw = await startTestGateway({
    OMNIGATE_CONNECTORS_DIR: dir,
    OMNIGATE_PACKAGE_STORE_DIR: join(dir, '.store'),
    OMNIGATE_WORKER_HEAP_MB: '32',
    OMNIGATE_RESILIENCE_CHAOS_TIMEOUT_MS: '1000',
    OMNIGATE_RESILIENCE_CHAOS_VOLUME_THRESHOLD: '1000',
    OMNIGATE_RESILIENCE_CHAOS_RETRIES: '0',
    OMNIGATE_RESTART_RESET_MS: '300',
  });
});
after(async () => {
  await gw?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const chaos = (mode: string) =>
  gw.api('/v1/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ capability: 'chaos.get', params: { mode } }) });
type Listed = { name: string; state: string; restarts: number; lastError?: { stage: string; message: string } };
const chaosStatus = async (): Promise<Listed | undefined> =>
  ((await (await gw.api('/v1/connectors')).json()) as { connectors: Listed[] }).connectors.find((c) => c.name === 'chaos');

/** Waits until the chaos connector has been restarted more than `before` times and serves again. */
async function untilRestarted(before: number): Promise<Listed> {
  let status: Listed | undefined;
  return waitFor(`the chaos connector restarted more than ${before} times and ready`, async () => {
    status = await chaosStatus();
    return status?.state === 'ready' && status.restarts > before ? status : undefined;
  }, { timeoutMs: 10_000, intervalMs: 100, detail: () => `its last status: ${JSON.stringify(status)}` });
}

/**
 * Calls the other connectors while `work` runs: they must keep answering, and (`whileStuck`, for
 * misbehaviour that lasts, like a blocked loop until its timeout) answer before it ends.
 */
async function othersKeepServing<T>(work: Promise<T>, whileStuck = true): Promise<T> {
  let done = false;
  const result = work.finally(() => (done = true));
  let answeredMeanwhile = 0;
  while (!done) {
    const res = await gw.api('/v1/customers/42/context');
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { complete: boolean }).complete, true);
    if (!done) answeredMeanwhile++;
  }
  if (whileStuck) assert.ok(answeredMeanwhile > 0, 'no other call was answered while the misbehaving one was stuck');
  return result;
}

/** One scrape of /metrics: a series' value in it, undefined when it is not there. */
async function scrape(): Promise<(series: string) => number | undefined> {
  const lines = (await (await gw.api('/metrics')).text()).split('\n');
  return (series) => {
    const line = lines.find((l) => l.startsWith(series + ' '));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
}

describe('a connector worker\'s event loop is measured from inside it', () => {
  const delays = 'omnigate_connector_worker_event_loop_delay_seconds';
  /** The heartbeat intervals in which a connector's worker loop was held over 0.25 s. */
  const slowIntervals = (metric: (series: string) => number | undefined, connector: string) =>
    (metric(`${delays}_count{connector="${connector}"}`) ?? 0) - (metric(`${delays}_bucket{le="0.25",connector="${connector}"}`) ?? 0);

  test('a call that holds its loop for 300 ms shows as a heartbeat interval whose delay is over 0.25 s', async () => {
    const before = await scrape();
    assert.equal((await chaos('stall')).status, 200);
    const after = await waitFor('a heartbeat interval with a delay over 0.25 s', async () => {
      const metric = await scrape();
      return slowIntervals(metric, 'chaos') > slowIntervals(before, 'chaos') ? metric : undefined;
    }, { timeoutMs: 5_000, intervalMs: 100 });
    // The others' workers were not held meanwhile: each loop is measured apart.
    assert.ok((after(`${delays}_count{connector="orders-java"}`) ?? 0) > (before(`${delays}_count{connector="orders-java"}`) ?? 0), 'orders-java kept reporting');
    assert.equal(slowIntervals(after, 'orders-java'), slowIntervals(before, 'orders-java'));
    const utilization = after('omnigate_connector_worker_event_loop_utilization{connector="chaos"}');
    assert.ok(utilization !== undefined && utilization >= 0 && utilization <= 1, `utilization ${utilization}`);
  });

  test('the garbage a call leaves shows as the worker\'s GC time', async () => {
    const series = 'omnigate_connector_worker_gc_seconds_total{connector="chaos"}';
    const before = (await scrape())(series) ?? 0;
    assert.equal((await chaos('garbage')).status, 200);
    // A million short-lived objects (well within the call's 1 s deadline on a loaded machine) cost
    // scavenges of a millisecond or more in all; an idle worker's GC in these seconds, far less.
    await waitFor('1 ms or more of GC reported after the call', async () => ((await scrape())(series) ?? 0) - before >= 0.001, { timeoutMs: 5_000, intervalMs: 100 });
  });
});

describe('a misbehaving connector hurts only its own calls', () => {
  test('one that throws: its call fails with CONNECTOR_FAILED, and it keeps serving', async () => {
    const res = await chaos('throw');
    assert.equal(res.status, 502);
    const problem = (await res.json()) as { code: string; connector: string; detail: string };
    assert.equal(problem.code, 'CONNECTOR_FAILED');
    assert.equal(problem.connector, 'chaos');
    assert.match(problem.detail, /TypeError/);
    assert.equal((await chaos('ok')).status, 200);
    assert.equal((await chaosStatus())?.restarts, 0);
  });

  test('one that blocks its event loop: its call times out, the others keep serving, and it is restarted', async () => {
    const res = await othersKeepServing(chaos('block'));
    assert.equal(res.status, 504);
    assert.equal(((await res.json()) as { code: string }).code, 'UPSTREAM_TIMEOUT');
    const status = await untilRestarted(0);
    assert.equal(status?.state, 'ready');
    assert.ok((status?.restarts ?? 0) >= 1);
    assert.match(status?.lastError?.message ?? '', /blocked/);
    assert.equal((await chaos('ok')).status, 200);
  });

  test('one that leaks memory: it hits its heap limit, its call fails, and it is restarted', async () => {
    const before = (await chaosStatus())?.restarts ?? 0;
    // How long it takes to hit the heap limit is V8's business: it may be over before another call is.
    const res = await othersKeepServing(chaos('leak'), false);
    assert.ok([502, 504].includes(res.status), `status ${res.status}`);
    const status = await untilRestarted(before);
    assert.ok((status?.restarts ?? 0) > before);
    assert.equal((await chaos('ok')).status, 200);
  });

  test('one that crashes: its call fails with CONNECTOR_FAILED at once, and it is restarted', async () => {
    const before = (await chaosStatus())?.restarts ?? 0;
    const res = await chaos('crash');
    // Its promise never settles: CONNECTOR_FAILED rather than UPSTREAM_TIMEOUT is not waiting for the timeout.
    assert.equal(res.status, 502);
    assert.equal(((await res.json()) as { code: string }).code, 'CONNECTOR_FAILED');
    const status = await untilRestarted(before);
    assert.ok((status?.restarts ?? 0) > before);
    assert.equal((await chaos('ok')).status, 200);
  });

  test('one that stayed healthy after a restart is restarted with the initial delay when it crashes again', async () => {
    const delays = () => gw.logs.filter((l) => l.connector === 'chaos' && l.msg === 'restarting the connector worker').map((l) => l.delayMs);
    const resets = () => gw.logs.filter((l) => l.connector === 'chaos' && l.msg === 'connector stayed healthy: restart backoff reset').length;
    const crashAndRecover = async () => {
      const before = (await chaosStatus())?.restarts ?? 0;
      assert.equal((await chaos('crash')).status, 502);
      await untilRestarted(before);
    };
    await crashAndRecover();
    // Healthy for OMNIGATE_RESTART_RESET_MS after that restart…
    const resetsBefore = resets();
    for (let i = 0; i < 50 && resets() === resetsBefore; i++) await new Promise((r) => setTimeout(r, 100));
    // …so the next crash starts the backoff over.
    await crashAndRecover();
    assert.equal(delays().at(-1), delays()[0], `restart delays ${delays().join(', ')}`);
  });
});
