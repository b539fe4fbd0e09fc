import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFaultProxy, type FaultProxy } from '../../src/sdk/testing/fault-proxy.ts';
import { backendAdmin, setFault } from '../support/gateway.ts';
import { gatewayProcesses, type GatewayProcess } from '../support/gateway-process.ts';
import { TEST_URLS } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

// Two gateway processes in one breaker scope on the test Redis and Kafka, each reaching the orders
// backend through a proxy of its own (a node's own network). Neither node alone reaches the
// breaker's volume of 10 calls in the tests below: only failures counted across nodes open it.
const RESET_MS = 1_500;
const SYNC_MS = 200;
const nodes = gatewayProcesses();
const proxies: FaultProxy[] = [];
let a: GatewayProcess;
let b: GatewayProcess;
let nextOrder = 7_000;
/** A different order each time, of the 10,000 the backend has. */
const order = (): string => `/v1/orders/ORD-${String((nextOrder++ % 10_000) + 1).padStart(7, '0')}`;

type Breaker = { capability: string; state: string };
const stateOf = async (node: GatewayProcess): Promise<string | undefined> => {
  const { connectors } = (await (await node.api('/v1/connectors')).json()) as { connectors: { name: string; breakers: Breaker[] }[] };
  return connectors.find((c) => c.name === 'orders-java')?.breakers.find((x) => x.capability === 'order.get')?.state;
};
const backendRequests = async (): Promise<number> => (await backendAdmin<{ requests: number }>('orders', 'stats')).requests;
const timeOf = (line: Record<string, unknown> | undefined): number => Date.parse(String(line?.time));

/** Requests on `node`, `concurrency` at a time, until stopped: the statuses it answered. */
function load(node: GatewayProcess, concurrency = 2): { stop(): Promise<number[]> } {
  let stopped = false;
  const statuses: number[] = [];
  const loops = Array.from({ length: concurrency }, async () => {
    while (!stopped) {
      const res = await node.api(order());
      await res.arrayBuffer();
      statuses.push(res.status);
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return statuses;
    },
  };
}

before(async () => {
  const scope = `cluster-breaker-${process.pid}`;
  const env = (proxy: FaultProxy) => ({
    OMNIGATE_CONNECTOR_ORDERS_JAVA_BASE_URL: proxy.url, OMNIGATE_BREAKER_SCOPE: scope, OMNIGATE_BREAKER_SYNC_MS: String(SYNC_MS), OMNIGATE_HEALTH_CHECK_INTERVAL_MS: '0',
    OMNIGATE_RESILIENCE_ORDERS_JAVA_VOLUME_THRESHOLD: '10', OMNIGATE_RESILIENCE_ORDERS_JAVA_ERROR_THRESHOLD_PERCENTAGE: '50',
    OMNIGATE_RESILIENCE_ORDERS_JAVA_RESET_TIMEOUT_MS: String(RESET_MS), OMNIGATE_RESILIENCE_ORDERS_JAVA_RETRIES: '0',
    OMNIGATE_RESILIENCE_ORDERS_JAVA_RATE_LIMIT_PER_SEC: '100000',
  });
  proxies.push(await startFaultProxy({ target: TEST_URLS.orders }), await startFaultProxy({ target: TEST_URLS.orders }));
  [a, b] = await Promise.all([nodes.start({ name: 'a', env: env(proxies[0]!) }), nodes.start({ name: 'b', env: env(proxies[1]!) })]);
});
after(async () => {
  await setFault('orders', { mode: 'ok' });
  await Promise.all(proxies.map((p) => p.close()));
});

describe('breakers shared by two gateway processes', () => {
  test('failures counted across both nodes open the breaker on both, the second within a second, and then neither sends', async () => {
    await setFault('orders', { mode: 'down' });
    // Six failures on each node: below the volume of either node's own breaker, not of the cluster's.
    for (let i = 0; i < 6; i++) await Promise.all([a.api(order()).then((r) => r.arrayBuffer()), b.api(order()).then((r) => r.arrayBuffer())]);
    await waitFor('both nodes to hold the breaker open', async () => (await stateOf(a)) === 'open' && (await stateOf(b)) === 'open', { timeoutMs: 10_000 });
    // A node's log lines reach its file within LOG_FLUSH_MS.
    const opening = await waitFor('a node to log that it opened the cluster\'s breaker on the shared window', () => [...a.logs(), ...b.logs()].find((l) => l.msg === 'cluster breaker opening: failures across the cluster'));
    assert.deepEqual((opening.failingNodes as string[]).sort(), [a.nodeId, b.nodeId].sort());
    for (const node of [a, b]) {
      const opened = await waitFor(`${node.nodeId} to log its breaker opening`, () => node.logs().find((l) => l.msg === 'breaker state changed' && l.state === 'open'));
      assert.equal(opened?.cause, 'cluster', `${node.nodeId} opened for the cluster, not on its own calls`);
      assert.ok(timeOf(opened) - timeOf(opening) <= 1_000, `${node.nodeId} stopped sending ${timeOf(opened) - timeOf(opening)} ms after the cluster opened`);
    }

    const before = await backendRequests();
    const answers = await Promise.all(Array.from({ length: 10 }, () => [a.api(order()), b.api(order())]).flat());
    const refused = answers.filter((r) => r.status === 503).length;
    assert.ok(refused >= 19, `${refused} of 20 calls refused`);
    assert.ok((await backendRequests()) - before <= 1, 'at most the cluster\'s one trial reached the backend');
  });

  test('under load on both nodes, the backend sees one half-open trial per reset interval for the cluster, not one per node', async () => {
    await waitFor('the breaker to be open on both nodes', async () => (await stateOf(a)) !== 'closed' && (await stateOf(b)) !== 'closed');
    const started = Date.now();
    const before = await backendRequests();
    const loads = [load(a), load(b)];
    // Trials reach the backend at least a reset interval apart (each failed one holds the cluster
    // again): three of them take two intervals. A trial per node would bring three within one.
    await waitFor('three trials at the backend', async () => (await backendRequests()) - before >= 3, { timeoutMs: 30_000 });
    const elapsed = Date.now() - started;
    const statuses = (await Promise.all(loads.map((l) => l.stop()))).flat();
    assert.ok(elapsed >= 2 * RESET_MS, `three trials within ${elapsed} ms: more than one per ${RESET_MS} ms interval`);
    assert.ok(statuses.length > 50, `the nodes were under load (${statuses.length} calls)`);

    // The backend is back: one successful trial closes the breaker on both nodes.
    await setFault('orders', { mode: 'ok' });
    const healing = [load(a, 1), load(b, 1)];
    await waitFor('both nodes to close the breaker', async () => (await stateOf(a)) === 'closed' && (await stateOf(b)) === 'closed', { timeoutMs: 20_000 });
    await Promise.all(healing.map((l) => l.stop()));
    assert.equal((await a.api(order())).status, 200);
    assert.equal((await b.api(order())).status, 200);
  });

  test('a fault local to one node opens only its own breaker; the other node keeps serving', async () => {
    const [, proxyOfB] = proxies as [FaultProxy, FaultProxy];
    proxyOfB.setFault({ kind: 'down' });
    // Its window still holds the successes from before: it takes more failures than the volume.
    await waitFor('b to open its own breaker', async () => {
      await b.api(order()).then((r) => r.arrayBuffer());
      return (await stateOf(b)) === 'open';
    });
    await waitFor('a node to judge the failures b\'s own', () => [...a.logs(), ...b.logs()].some((l) => l.msg === 'failures local to one node: the cluster breaker stays closed' && (l.failingNodes as string[]).join() === b.nodeId));
    const served = load(a);
    const before = await backendRequests();
    await waitFor('a to serve 50 more calls', async () => (await backendRequests()) - before >= 50);
    const statuses = await served.stop();
    assert.ok(statuses.every((s) => s === 200), `a answered ${[...new Set(statuses)].join(',')}`);
    assert.equal(await stateOf(a), 'closed');
    assert.equal(await stateOf(b), 'open');
    assert.match(await (await a.api('/metrics')).text(), /omnigate_breaker_cluster_state\{connector="orders-java",capability="order\.get"\} 0/);
    proxyOfB.clear();
  });
});
