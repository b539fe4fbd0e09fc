// The test kit's fault proxy in front of a real backend that is asked for no fault itself: the
// orders-java connector, run by a real gateway, reaches the orders backend only through it.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { after, afterEach, before, describe, test } from 'node:test';
import { startFaultProxy, type FaultProxy } from 'omnigate/sdk/testing';
import { backendAdmin, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TEST_REDIS_CACHE_URL, TEST_URLS } from '../support/ports.ts';
import { assertMatchesSpec } from '../support/spec.ts';
import { waitFor } from '../support/wait.ts';

let proxy: FaultProxy;
let gw: TestGateway;
before(async () => {
  await forgetLastGoodOrders();
  proxy = await startFaultProxy({ target: TEST_URLS.orders });
  gw = await startTestGateway({ OMNIGATE_CONNECTOR_ORDERS_JAVA_BASE_URL: proxy.url, OMNIGATE_CALL_TIMEOUT_MS: '800', OMNIGATE_RESILIENCE_ORDERS_JAVA_VOLUME_THRESHOLD: '1000' });
});
afterEach(() => proxy.clear());
after(async () => {
  await gw.stop();
  await proxy.close();
});

/**
 * A last good answer would stand in for each failure below (200 `stale`). The ids here are
 * seldom read elsewhere, but a load test earlier in this lane may reach them, so the lane's cache
 * Redis forgets every stored order first (files in a lane run one at a time).
 */
async function forgetLastGoodOrders(): Promise<void> {
  const cache = new Redis(TEST_REDIS_CACHE_URL, { lazyConnect: true });
  try {
    await cache.connect();
    const keys = await cache.keys('omnigate:stale:order.get:*');
    if (keys.length > 0) await cache.del(...keys);
  } finally {
    cache.disconnect();
  }
}

let nextOrder = 9_360;
const orderPath = (): string => `/v1/orders/ORD-${String(nextOrder++).padStart(7, '0')}`;
/** Only the orders API is faulted: the OAuth token endpoint stays reachable. */
const ORDERS_API = '^/api/orders/';

async function problemOf(path: string): Promise<{ status: number; code: string; connector: string | undefined }> {
  const res = await gw.api(path);
  const body = (await assertMatchesSpec(res, 'getOrder')) as { code: string; connector?: string };
  return { status: res.status, code: body.code, connector: body.connector };
}

describe('the fault proxy in front of the real orders backend, through the gateway', () => {
  test('forwards untouched when no fault is set: the canonical order answers 200', async () => {
    const before = proxy.stats().forwarded;
    const res = await gw.api('/v1/orders/ORD-0009350');
    assert.equal(res.status, 200);
    assert.equal(((await assertMatchesSpec(res, 'getOrder')) as { data: { id: string } }).data.id, 'ORD-0009350');
    assert.ok(proxy.stats().forwarded > before);
  });

  test('down: the gateway answers 502 UPSTREAM_UNAVAILABLE', async () => {
    proxy.setFault({ kind: 'down', pathPattern: ORDERS_API });
    assert.deepEqual(await problemOf(orderPath()), { status: 502, code: 'UPSTREAM_UNAVAILABLE', connector: 'orders-java' });
    assert.ok(proxy.stats().faulted.down > 0);
  });

  test('error: a 503 from the backend is 502 UPSTREAM_UNAVAILABLE', async () => {
    proxy.setFault({ kind: 'error', pathPattern: ORDERS_API });
    assert.deepEqual(await problemOf(orderPath()), { status: 502, code: 'UPSTREAM_UNAVAILABLE', connector: 'orders-java' });
  });

  test('garbage: a 200 that is not JSON is 502 CONNECTOR_BAD_DATA', async () => {
    proxy.setFault({ kind: 'garbage', pathPattern: ORDERS_API });
    assert.deepEqual(await problemOf(orderPath()), { status: 502, code: 'CONNECTOR_BAD_DATA', connector: 'orders-java' });
  });

  test('hang: the call timeout gives up with 504 UPSTREAM_TIMEOUT, and the held request is dropped', async () => {
    proxy.setFault({ kind: 'hang', pathPattern: ORDERS_API });
    assert.deepEqual(await problemOf(orderPath()), { status: 504, code: 'UPSTREAM_TIMEOUT', connector: 'orders-java' });
    await waitFor('the connector to let go of the held request', () => proxy.stats().hanging === 0);
  });

  test('latency: a delay below the call timeout still answers, after the backend saw the request', async () => {
    const seen = (await backendAdmin<{ requests: number }>('orders', 'stats')).requests;
    proxy.setFault({ kind: 'latency', latencyMs: 100, pathPattern: ORDERS_API });
    const res = await gw.api('/v1/orders/ORD-0009351');
    assert.equal(res.status, 200);
    assert.equal(proxy.stats().faulted.latency, 1);
    assert.ok((await backendAdmin<{ requests: number }>('orders', 'stats')).requests > seen);
  });
});
