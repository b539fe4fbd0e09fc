import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, test } from 'node:test';
import { setFault, startTestGateway } from '../support/gateway.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('metrics', () => {
  test('GET /metrics exports calls, latency, breakers, bulkheads, retries, cache and process metrics in Prometheus text, behind the key', async () => {
    const gw = await startTestGateway();
    try {
      assert.equal((await fetch(`${gw.url}/metrics`)).status, 401);
      await gw.api('/v1/customers/42/context');
      await gw.api('/v1/orders/ORD-404');
      const res = await gw.api('/metrics');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      const text = await res.text();
      for (const pattern of [
        /omnigate_connector_calls_total\{connector="crm-python",capability="customer\.get",outcome="ok"\} \d+/,
        /omnigate_connector_calls_total\{connector="orders-java",capability="order\.get",outcome="NOT_FOUND"\} 1/,
        /omnigate_connector_call_duration_seconds_bucket\{le="0\.1",connector="tickets-node",capability="ticket\.list",outcome="ok"\} \d+/,
        /omnigate_breaker_state\{connector="orders-java",capability="order\.list"\} 0/,
        /omnigate_bulkhead_in_use\{connector="orders-java"\} 0/,
        /# TYPE omnigate_bulkhead_rejected_total counter/,
        /# TYPE omnigate_retries_total counter/,
        /# TYPE omnigate_cache_lookups_total counter/,
        /# TYPE omnigate_stale_serves_total counter/,
        /omnigate_http_requests_total\{method="GET",route="\/v1\/customers\/:id\/context",status="200"\} 1/,
        /omnigate_process_resident_memory_bytes \d+/,
        /omnigate_nodejs_eventloop_lag_seconds/,
      ]) {
        assert.match(text, pattern);
      }
    } finally {
      await gw.stop();
    }
  });
});

describe('a long run of failures', () => {
  test('10,000 failing calls leave no unhandled rejection and grow the heap by less than 32 MB', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const gw = await startTestGateway({ OMNIGATE_RESILIENCE_ORDERS_JAVA_VOLUME_THRESHOLD: '20', OMNIGATE_RESILIENCE_ORDERS_JAVA_RESET_TIMEOUT_MS: '200', OMNIGATE_RESILIENCE_ORDERS_JAVA_RETRIES: '1', OMNIGATE_RESILIENCE_ORDERS_JAVA_RATE_LIMIT_PER_SEC: '100000' });
    try {
      await setFault('orders', { mode: 'error', errorRate: 1 });
      const run = async (count: number) => {
        const codes = new Map<string, number>();
        for (let done = 0; done < count; done += 50) {
          const batch = await Promise.all(Array.from({ length: 50 }, (_, i) => gw.api(`/v1/orders/ORD-9${String(done + i).padStart(6, '0')}`).then(async (r) => ((await r.json()) as { code: string }).code)));
          for (const code of batch) codes.set(code, (codes.get(code) ?? 0) + 1);
        }
        return codes;
      };
      await run(1_000); // warm up: JIT, pools, metric series
      gc();
      const before = process.memoryUsage().heapUsed;
      const codes = await run(10_000);
      gc();
      const grownMb = (process.memoryUsage().heapUsed - before) / 1024 / 1024;
      assert.equal([...codes.values()].reduce((a, b) => a + b, 0), 10_000);
      assert.ok((codes.get('CIRCUIT_OPEN') ?? 0) > 5_000, JSON.stringify([...codes]));
      assert.ok(grownMb < 32, `heap grew by ${grownMb.toFixed(1)} MB`);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await setFault('orders', { mode: 'ok' });
      await gw.stop();
    }
  });
});
