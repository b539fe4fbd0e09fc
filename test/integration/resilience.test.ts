import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendAdmin, perTestGateways, setFault, type TestGateway } from '../support/gateway.ts';
import { establishedTo } from '../support/sockets.ts';
import { TEST_PORTS } from '../support/ports.ts';

const { gateway } = perTestGateways();

type Problem = { code: string; connector?: string; field?: string };
type Breaker = { capability: string; state: string; stats: { calls: number; failures: number; rejects: number } };
const requests = async (system: 'orders' | 'crm' | 'tickets'): Promise<number> => (await backendAdmin<{ requests: number }>(system, 'stats')).requests;
const breakerOf = async (gw: TestGateway, connector: string, capability: string): Promise<Breaker | undefined> => {
  const { connectors } = (await (await gw.api('/v1/connectors')).json()) as { connectors: { name: string; breakers: Breaker[] }[] };
  return connectors.find((c) => c.name === connector)?.breakers.find((b) => b.capability === capability);
};
let settled = 0;
/** The answer with its problem body and its place in the order in which answers arrived. */
async function answered(work: Promise<Response>): Promise<{ res: Response; body: Problem; order: number }> {
  const res = await work;
  const body = (await res.json()) as Problem;
  return { res, body, order: settled++ };
}
const order = (n: number): string => `/v1/orders/ORD-${String(n).padStart(7, '0')}`;

describe('circuit breaker', () => {
  test('opens after the threshold on a down backend, fails fast while open, and closes again once the backend is back', async () => {
    const gw = await gateway({
      OMNIGATE_RESILIENCE_ORDERS_JAVA_VOLUME_THRESHOLD: '4',
      OMNIGATE_RESILIENCE_ORDERS_JAVA_ERROR_THRESHOLD_PERCENTAGE: '50',
      OMNIGATE_RESILIENCE_ORDERS_JAVA_RESET_TIMEOUT_MS: '1500',
      OMNIGATE_RESILIENCE_ORDERS_JAVA_RETRIES: '0',
    });
    await setFault('orders', { mode: 'down' });
    for (let i = 0; i < 4; i++) assert.equal((await answered(gw.api(order(5001 + i)))).body.code, 'UPSTREAM_UNAVAILABLE');
    assert.equal((await breakerOf(gw, 'orders-java', 'order.get'))?.state, 'open');

    // Failing fast is answering without calling: the backend sees nothing and the breaker counts
    // every call as a reject (how fast that is, bench/gateway-overhead.ts measures).
    const before = await requests('orders');
    const rejectsBefore = (await breakerOf(gw, 'orders-java', 'order.get'))?.stats.rejects ?? 0;
    for (let i = 0; i < 20; i++) {
      const { res, body } = await answered(gw.api(order(5101 + i)));
      assert.equal(res.status, 503);
      assert.equal(body.code, 'CIRCUIT_OPEN');
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
    }
    assert.equal(await requests('orders'), before, 'no call reaches the backend while the breaker is open');
    assert.equal((await breakerOf(gw, 'orders-java', 'order.get'))?.stats.rejects, rejectsBefore + 20);
    const warned = gw.logs.find((l) => l.msg === 'breaker state changed' && l.state === 'open');
    assert.equal(warned?.level, 40);
    assert.equal(warned?.connector, 'orders-java');
    assert.equal(warned?.capability, 'order.get');

    await setFault('orders', { mode: 'ok' });
    await new Promise((r) => setTimeout(r, 1600));
    assert.equal((await breakerOf(gw, 'orders-java', 'order.get'))?.state, 'halfOpen');
    assert.equal((await gw.api(order(5201))).status, 200, 'the trial call goes through');
    assert.equal((await breakerOf(gw, 'orders-java', 'order.get'))?.state, 'closed');
    assert.equal((await gw.api(order(5202))).status, 200);
    assert.ok(gw.logs.some((l) => l.msg === 'breaker state changed' && l.state === 'closed'));
  });

  test('counts garbage as a failure: 502 CONNECTOR_BAD_DATA naming the field, then the breaker opens', async () => {
    const gw = await gateway({ OMNIGATE_RESILIENCE_ORDERS_JAVA_VOLUME_THRESHOLD: '3', OMNIGATE_RESILIENCE_ORDERS_JAVA_RESET_TIMEOUT_MS: '60000' });
    await setFault('orders', { mode: 'garbage' });
    for (let i = 0; i < 3; i++) {
      const { res, body } = await answered(gw.api(order(5301 + i)));
      assert.equal(res.status, 502);
      assert.equal(body.code, 'CONNECTOR_BAD_DATA');
      assert.equal(body.connector, 'orders-java');
      assert.match(body.field ?? '', /totalAmountMinor|createdAt/);
    }
    const breaker = await breakerOf(gw, 'orders-java', 'order.get');
    assert.equal(breaker?.state, 'open');
    assert.equal(breaker?.stats.failures, 3);
    assert.equal((await answered(gw.api(order(5304)))).body.code, 'CIRCUIT_OPEN');
  });

  test('does not count unknown ids (404) against the backend', async () => {
    const gw = await gateway({ OMNIGATE_RESILIENCE_ORDERS_JAVA_VOLUME_THRESHOLD: '3' });
    for (let i = 0; i < 6; i++) assert.equal((await gw.api(`/v1/orders/ORD-99${i}`)).status, 404);
    assert.equal((await breakerOf(gw, 'orders-java', 'order.get'))?.state, 'closed');
  });
});

describe('timeouts', () => {
  // The backend answers, if ever, long after the 400 ms timeout: a 504 is the gateway not waiting for it.
  for (const fault of [{ mode: 'latency', latencyMs: 5000 }, { mode: 'hang' }]) {
    test(`${fault.mode}: every request gives up at its timeout instead of waiting for the backend, and no socket is left open`, async () => {
      const gw = await gateway({ OMNIGATE_RESILIENCE_TICKETS_NODE_TIMEOUT_MS: '400', OMNIGATE_RESILIENCE_TICKETS_NODE_VOLUME_THRESHOLD: '1000' });
      await setFault('tickets', fault);
      // Idle keep-alive sockets of earlier calls may exist; aborted calls must add none.
      const baseline = establishedTo(TEST_PORTS.tickets);
      const calls = await Promise.all(Array.from({ length: 8 }, (_, i) => answered(gw.api(`/v1/tickets/TCK-1005${String(i).padStart(2, '0')}`))));
      for (const { res, body } of calls) {
        assert.equal(res.status, 504);
        assert.equal(body.code, 'UPSTREAM_TIMEOUT');
      }
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(establishedTo(TEST_PORTS.tickets) <= baseline, 'an aborted call left its socket open');
    });
  }
});

describe('retries', () => {
  test('recover error bursts on reads within the budget', async () => {
    const gw = await gateway({ OMNIGATE_RESILIENCE_TICKETS_NODE_RETRIES: '3', OMNIGATE_RESILIENCE_TICKETS_NODE_VOLUME_THRESHOLD: '1000' });
    await setFault('tickets', { mode: 'error', errorRate: 0.3 });
    const before = await requests('tickets');
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => gw.api(`/v1/tickets/TCK-1006${String(i).padStart(2, '0')}`)));
    const ok = answers.filter((r) => r.status === 200).length;
    assert.ok(ok >= 38, `only ${ok} of 40 reads recovered`);
    assert.ok((await requests('tickets')) - before > 40, 'the backend saw the retries');
    assert.match(await (await gw.api('/metrics')).text(), /omnigate_retries_total\{connector="tickets-node",capability="ticket\.get"\} [1-9]/);
  });

  test('never retry a write', async () => {
    const gw = await gateway({ OMNIGATE_RESILIENCE_TICKETS_NODE_RETRIES: '3' });
    await setFault('tickets', { mode: 'error', errorRate: 1 });
    const before = await requests('tickets');
    const res = await gw.api('/v1/tickets', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ customerId: '5', subject: 's', description: 'd' }) });
    assert.equal(res.status, 502);
    assert.equal(((await res.json()) as Problem).code, 'UPSTREAM_UNAVAILABLE');
    assert.equal((await requests('tickets')) - before, 1);
  });

  test('keep the load on a backend in full outage bounded', async () => {
    const gw = await gateway({ OMNIGATE_RESILIENCE_TICKETS_NODE_RETRIES: '2', OMNIGATE_RESILIENCE_TICKETS_NODE_VOLUME_THRESHOLD: '10', OMNIGATE_RESILIENCE_TICKETS_NODE_RESET_TIMEOUT_MS: '60000' });
    await setFault('tickets', { mode: 'error', errorRate: 1 });
    const before = await requests('tickets');
    const codes: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => answered(gw.api(`/v1/tickets/TCK-1007${String(batch * 20 + i).padStart(3, '0')}`))));
      codes.push(...answers.map((a) => a.body.code));
    }
    const reached = (await requests('tickets')) - before;
    assert.ok(reached <= 60, `200 calls reached the backend ${reached} times`);
    assert.ok(codes.filter((c) => c === 'CIRCUIT_OPEN').length >= 150);
  });
});

describe('bulkhead', () => {
  test('at maxConcurrent, extra calls get 503 CONNECTOR_SATURATED while the admitted ones are still running, and nothing queues without bound', async () => {
    const gw = await gateway({
      OMNIGATE_RESILIENCE_ORDERS_JAVA_MAX_CONCURRENT: '2',
      OMNIGATE_RESILIENCE_ORDERS_JAVA_MAX_QUEUE: '1',
      OMNIGATE_RESILIENCE_ORDERS_JAVA_MAX_WAIT_MS: '50',
    });
    // The admitted calls take 20 times the longest wait in the queue.
    await setFault('orders', { mode: 'latency', latencyMs: 1000 });
    const calls = await Promise.all(Array.from({ length: 10 }, (_, i) => answered(gw.api(order(5401 + i)))));
    const saturated = calls.filter((c) => c.body.code === 'CONNECTOR_SATURATED');
    assert.equal(calls.filter((c) => c.res.status === 200).length, 2);
    assert.equal(saturated.length, 8);
    const firstAdmitted = Math.min(...calls.filter((c) => c.res.status === 200).map((c) => c.order));
    for (const s of saturated) {
      assert.equal(s.res.status, 503);
      assert.ok(s.order < firstAdmitted, 'a saturated call waited for an admitted one to finish');
    }
    const { connectors } = (await (await gw.api('/v1/connectors')).json()) as { connectors: { name: string; bulkhead?: { rejected: number; inUse: number } }[] };
    const bulkhead = connectors.find((c) => c.name === 'orders-java')?.bulkhead;
    assert.equal(bulkhead?.rejected, 8);
    assert.equal(bulkhead?.inUse, 0);
  });
});
