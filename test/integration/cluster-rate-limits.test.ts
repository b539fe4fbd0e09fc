import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { API_KEY } from '../support/gateway.ts';
import { gatewayProcesses, type GatewayProcess } from '../support/gateway-process.ts';

// Two gateway processes on the test Redis and Kafka share one key's rate limit. Each decides
// locally and reconciles with Redis every SYNC_MS (docs/scaling.md, "Rate limits across nodes"):
// under load together they admit the limit, over it by no more than the stated bound, and then
// both refuse. The limit is several times what the load admits in a sync interval, so that the
// stated bound (rate × (sync + round trip)) is well under the (nodes − 1) × limit that holds anyway.
const LIMIT = 2_000;
const SYNC_MS = 50;
// The principal's name is the limit's key in Redis: one of this run's own, so an earlier run's window does not count.
const OWNER = `rl${Date.now().toString(36)}`;
const KEY = `cluster-rate-limit-key-${OWNER}-0123456789`;
// Another key of this run's own, to show the first key's limit is not the node's: the test key is counted by every test of the run.
const OTHER_KEY = `cluster-rate-limit-other-${OWNER}-0123456789`;
const nodes = gatewayProcesses();
let a: GatewayProcess;
let b: GatewayProcess;

before(async () => {
  const env = {
    OMNIGATE_API_KEYS: `test:${API_KEY},${OWNER}:${KEY},${OWNER}x:${OTHER_KEY}`,
    OMNIGATE_RATE_LIMIT_PER_KEY: String(LIMIT),
    // Windows are aligned to the clock: a day-long one makes it unlikely (seconds in a day) that the test straddles two.
    OMNIGATE_RATE_LIMIT_WINDOW_MS: '86400000',
    OMNIGATE_RATE_LIMIT_SYNC_MS: String(SYNC_MS),
  };
  [a, b] = await Promise.all([nodes.start({ name: 'rl-a', env }), nodes.start({ name: 'rl-b', env })]);
});

interface Tally {
  admitted: number;
  refused: number;
}

/** A loop's least time between its requests: the 8 loops send at most 2,000/s, whatever the machine, so that the bound stays well under the limit. */
const LOOP_INTERVAL_MS = 4;

/** Requests on `node`, `loops` at a time, until it has refused `refusals` of them. */
async function loadUntilRefused(node: GatewayProcess, tally: Tally, loops = 4, refusals = 50): Promise<void> {
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (tally.refused < refusals) {
        const pace = new Promise((resolve) => setTimeout(resolve, LOOP_INTERVAL_MS));
        const res = await node.api('/v1/connectors', { headers: { 'x-api-key': KEY } });
        await res.arrayBuffer();
        if (res.status === 200) tally.admitted += 1;
        else if (res.status === 429) tally.refused += 1;
        else assert.fail(`unexpected ${res.status}`);
        await pace;
      }
    }),
  );
}

test('two gateway processes under load share one key limit: together they admit it, over it by at most a sync interval of traffic, then both refuse', async (t) => {
  const onA: Tally = { admitted: 0, refused: 0 };
  const onB: Tally = { admitted: 0, refused: 0 };
  const startedAt = Date.now();
  await Promise.all([loadUntilRefused(a, onA), loadUntilRefused(b, onB)]);
  const elapsedMs = Date.now() - startedAt;
  const admitted = onA.admitted + onB.admitted;
  assert.ok(onA.admitted > 0 && onB.admitted > 0, `both nodes admitted some (a ${onA.admitted}, b ${onB.admitted})`);
  assert.ok(admitted >= LIMIT, `admitted ${admitted} of ${LIMIT}`);
  // The stated maximum overshoot: what the cluster admits in a sync interval and a round trip, never past (nodes − 1) × limit.
  const perMs = admitted / elapsedMs;
  const bound = Math.ceil(perMs * (SYNC_MS + 100));
  t.diagnostic(`admitted ${admitted} of ${LIMIT} at ${(perMs * 1000).toFixed(0)}/s (a ${onA.admitted}, b ${onB.admitted}): over by ${admitted - LIMIT}, bound ${bound}`);
  assert.ok(bound < LIMIT / 2, `the load (${(perMs * 1000).toFixed(0)}/s) is too fast for the bound to say more than (nodes − 1) × limit`);
  assert.ok(admitted - LIMIT <= bound, `admitted ${admitted} of ${LIMIT} at ${(perMs * 1000).toFixed(0)}/s: over by more than ${bound}`);
  // Converged: each node now refuses, saying none is left and when to come back.
  for (const node of [a, b]) {
    const res = await node.api('/v1/connectors', { headers: { 'x-api-key': KEY } });
    await res.arrayBuffer();
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('ratelimit-remaining'), '0');
    assert.ok(Number(res.headers.get('retry-after')) > 0, `Retry-After ${res.headers.get('retry-after')}`);
    // The query API's reads (which take a shorter way through the gateway) count against the same limit.
    const read = await node.api('/v1/orders/ORD-0000001', { headers: { 'x-api-key': KEY } });
    assert.equal(read.status, 429, `a read on ${node.nodeId}`);
    assert.equal(((await read.json()) as { code: string }).code, 'RATE_LIMITED');
  }
  // Another key on the same nodes is not touched.
  for (const node of [a, b]) assert.equal((await node.api('/v1/connectors', { headers: { 'x-api-key': OTHER_KEY } })).status, 200);
});
