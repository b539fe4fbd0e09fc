import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { startRedis } from '../../scripts/lib/redis.ts';
import { createRedis } from '../../src/adapters/redis/redis-client.ts';
import { createRedisStreamStore } from '../../src/adapters/redis/redis-stream-store.ts';
import { ROOT_DIR, setFault, startTestGateway } from '../support/gateway.ts';
import { port } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

const PORT = port(16390);
const REDIS_COMMAND_TIMEOUT_MS = 30_000;

describe('losing the cache Redis', () => {
  test('degrades to no cache and per-node limits instead of failing queries, and recovers when it returns', async () => {
    const dir = join(ROOT_DIR, '.data/test-redis-loss');
    let redis = await startRedis({ port: PORT, dir, role: 'cache' });
    // Commands may wait 30 s for Redis: a query answered sooner did not wait for the lost one.
    const gw = await startTestGateway({ REDIS_CACHE_URL: redis.url, OMNIGATE_REDIS_COMMAND_TIMEOUT_MS: String(REDIS_COMMAND_TIMEOUT_MS), OMNIGATE_RATE_LIMIT_PER_KEY: '30', OMNIGATE_RESILIENCE_ORDERS_JAVA_RETRIES: '0' });
    try {
      for (let i = 0; i < 50 && (await (await fetch(`${gw.url}/readyz`)).json() as { status: string }).status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal((await gw.api('/v1/orders/ORD-0006501')).status, 200);

      await redis.stop();
      await new Promise((r) => setTimeout(r, 300));
      const ready = (await (await fetch(`${gw.url}/readyz`)).json()) as { status: string; stores: { name: string; status: string }[] };
      assert.equal(ready.status, 'degraded');
      assert.deepEqual(ready.stores, [{ name: 'redis', status: 'up' }, { name: 'redis-cache', status: 'down' }]);
      assert.ok(gw.logs.some((l) => l.level === 40 && String(l.msg).includes('redis connection lost')));

      const started = performance.now();
      const res = await gw.api('/v1/customers/42/context');
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { complete: boolean }).complete, true);
      assert.ok(performance.now() - started < REDIS_COMMAND_TIMEOUT_MS, 'the query waited for the lost Redis');

      // No cache: a failing backend now gives the error, not a stale answer.
      await setFault('orders', { mode: 'down' });
      assert.equal((await gw.api('/v1/orders/ORD-0006501')).status, 502);
      await setFault('orders', { mode: 'ok' });

      // Per-node limits still hold.
      const statuses = [];
      for (let i = 0; i < 40; i++) statuses.push((await gw.api('/v1/connectors')).status);
      assert.ok(statuses.includes(429), 'the per-key limit still applies on this node');

      redis = await startRedis({ port: PORT, dir, role: 'cache' });
      let status = 'degraded';
      for (let i = 0; i < 40 && status !== 'ready'; i++) {
        await new Promise((r) => setTimeout(r, 150));
        status = ((await (await fetch(`${gw.url}/readyz`)).json()) as { status: string }).status;
      }
      assert.equal(status, 'ready');
    } finally {
      await setFault('orders', { mode: 'ok' });
      await gw.stop();
      await redis.stop();
    }
  });
});

describe('breakers while the cache Redis is away', () => {
  test('decide on each node alone: said once in the log and in a metric, no call waits for Redis, and they follow the cluster again once it returns', async () => {
    const dir = join(ROOT_DIR, '.data/test-redis-loss-breakers');
    let redis = await startRedis({ port: PORT, dir, role: 'cache' });
    const gw = await startTestGateway({
      REDIS_CACHE_URL: redis.url, OMNIGATE_REDIS_COMMAND_TIMEOUT_MS: String(REDIS_COMMAND_TIMEOUT_MS), OMNIGATE_BREAKER_SYNC_MS: '50',
      OMNIGATE_RESILIENCE_ORDERS_JAVA_RETRIES: '0', OMNIGATE_RESILIENCE_ORDERS_JAVA_VOLUME_THRESHOLD: '4', OMNIGATE_RESILIENCE_ORDERS_JAVA_RESET_TIMEOUT_MS: '60000',
    });
    const lines = (msg: string) => gw.logs.filter((l) => l.msg === msg);
    const sharedUp = async () => /omnigate_breaker_shared_up 1/.test(await (await gw.api('/metrics')).text());
    try {
      await waitFor('the cache redis', async () => ((await (await fetch(`${gw.url}/readyz`)).json()) as { status: string }).status === 'ready');
      assert.equal((await gw.api('/v1/orders/ORD-0006601')).status, 200);
      await redis.stop();
      await waitFor('the breakers to go per node', async () => !(await sharedUp()));
      assert.equal(lines('shared breaker state unreachable: each node\'s breakers decide alone').length, 1);

      await setFault('orders', { mode: 'down' });
      const started = performance.now();
      // With the first call's success, three failures of four calls open it (volume 4, over 50 %).
      for (let i = 0; i < 3; i++) {
        const failed = await gw.api(`/v1/orders/ORD-000670${i}`);
        assert.equal(((await failed.json()) as { code: string }).code, 'UPSTREAM_UNAVAILABLE');
      }
      const refused = await gw.api('/v1/orders/ORD-0006705');
      assert.equal(((await refused.json()) as { code: string }).code, 'CIRCUIT_OPEN', 'this node\'s own breaker opened on its own calls');
      assert.ok(performance.now() - started < REDIS_COMMAND_TIMEOUT_MS, 'a call waited for the lost Redis');
      assert.equal(lines('shared breaker state unreachable: each node\'s breakers decide alone').length, 1, 'said once, not once per sync');

      redis = await startRedis({ port: PORT, dir, role: 'cache' });
      await waitFor('the breakers to follow the cluster again', sharedUp);
      assert.equal(lines('shared breaker state reachable again: breakers follow the cluster').length, 1);
    } finally {
      await setFault('orders', { mode: 'ok' });
      await gw.stop();
      await redis.stop();
    }
  });
});

describe('a stream reader while Redis is away', () => {
  test('closing it ends the reads queued for a reconnect: a shutdown does not wait for a Redis that is gone', async () => {
    const redis = await startRedis({ port: PORT, dir: join(ROOT_DIR, '.data/test-redis-loss-reader'), role: 'durable' });
    const handle = createRedis(redis.url, pino({ level: 'silent' }));
    try {
      await waitFor('Redis to be up', () => handle.isUp(), { timeoutMs: 10_000 });
      const reader = createRedisStreamStore(handle).reader();
      const stream = 'omnigate:test:reader-while-away';
      assert.deepEqual(await reader.read(stream, '0-0', { count: 1, blockMs: 10 }), [], 'its own connection is up');
      await redis.stop();
      await waitFor('the connection to be lost', () => !handle.isUp(), { timeoutMs: 10_000 });
      // Sent while the connection waits to reconnect: ioredis queues them. The event log's loop reads so.
      const waiting = reader.read(stream, '0-0', { count: 1, blockMs: 1_000 });
      const ranging = reader.range(stream, { count: 1 });
      reader.close();
      // Bounded only so that a regression fails here rather than hanging the file: closed, they end at once.
      const within = <T>(work: Promise<T>) => Promise.race([work, new Promise<'still waiting'>((r) => setTimeout(() => r('still waiting'), 10_000).unref())]);
      assert.deepEqual(await within(waiting), [], 'a waiting read ends, as when nothing came');
      assert.match(String(await within(ranging.then(() => 'answered', (err: Error) => err.message))), /closed/, 'any other read is refused');
    } finally {
      await handle.close();
      await redis.stop();
    }
  });
});
