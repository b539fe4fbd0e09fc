import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { parse } from 'yaml';
import { REDIS_SETTINGS, startRedis, type RedisRole } from '../../scripts/lib/redis.ts';
import { cloudEvent } from '../../src/kernel/events.ts';
import { bucketKey, outboxBucketOf } from '../../src/modules/events/outbox-buckets.ts';
import type { CloudEvent } from '../../src/ports/event-bus.ts';
import { ROOT_DIR, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { freePort, TEST_REDIS_CACHE_URL, TEST_REDIS_URL } from '../support/ports.ts';
import { assertMatchesSpec } from '../support/spec.ts';
import { waitFor } from '../support/wait.ts';

/** Key prefixes of what may live in the cache instance: everything there is evictable by design. */
const CACHE_PREFIXES = ['omnigate:stale:', 'omnigate:rl:', 'omnigate:breaker:'];

const info = async (redis: Redis, section: string, field: string): Promise<string> => new RegExp(`^${field}:(.*)\\r?$`, 'm').exec(await redis.info(section))?.[1]?.trim() ?? '';
const configValue = async (redis: Redis, name: string): Promise<string> => String(((await redis.config('GET', name)) as string[])[1]);

async function allKeys(redis: Redis): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** The args of `flag` followed by `value` appear in `command`, in that order. */
function assertSetting(command: readonly string[], settings: readonly string[], where: string): void {
  for (let i = 0; i < settings.length; i += 2) {
    const at = command.indexOf(settings[i] ?? '');
    assert.ok(at >= 0, `${where}: ${settings[i]} missing`);
    assert.equal(command[at + 1], settings[i + 1], `${where}: ${settings[i]}`);
  }
}

describe('the durable and the cache Redis', () => {
  let durable: Redis;
  let cache: Redis;
  let gw: TestGateway;
  // Cache-like keys already in the durable instance: a gateway of an earlier file given only
  // REDIS_URL (a valid set-up: the cache then falls back to it) may have left some.
  let durableCacheKeysBefore: Set<string>;
  const durableCacheKeys = async (): Promise<string[]> => (await allKeys(durable)).filter((k) => CACHE_PREFIXES.some((p) => k.startsWith(p)));
  before(async () => {
    durable = new Redis(TEST_REDIS_URL);
    cache = new Redis(TEST_REDIS_CACHE_URL);
    durableCacheKeysBefore = new Set(await durableCacheKeys());
    gw = await startTestGateway({ OMNIGATE_REDIS_MEMORY_WARN_PERCENT: '20', OMNIGATE_RESILIENCE_TICKETS_NODE_RETRIES: '0' });
  });
  after(async () => {
    await gw.stop();
    durable.disconnect();
    cache.disconnect();
  });

  test('run as their roles say: the durable one with the append-only file fsynced every second and noeviction, the cache with allkeys-lru under a maxmemory', async () => {
    assert.equal(await configValue(durable, 'appendonly'), 'yes');
    assert.equal(await configValue(durable, 'appendfsync'), 'everysec');
    assert.equal(await configValue(durable, 'maxmemory-policy'), 'noeviction');
    assert.equal(await configValue(cache, 'appendonly'), 'no');
    assert.equal(await configValue(cache, 'maxmemory-policy'), 'allkeys-lru');
    assert.ok(Number(await configValue(cache, 'maxmemory')) > 0, 'the cache has a maxmemory, else LRU never acts');
  });

  test('a cache filled past its maxmemory by user-driven entries evicts only cache keys: the outbox and the job queue keep working, the durable instance evicts nothing', async () => {
    // Traffic leaves its stale answers and rate-limit buckets in the cache instance, not the durable one.
    assert.equal((await gw.api('/v1/orders/ORD-0006501')).status, 200);
    // The breaker's counts reach Redis with its next sync (every few hundred ms), not with the call.
    let cacheKeys: string[] = [];
    await waitFor('a key of each cache prefix in the cache instance', async () => {
      cacheKeys = await allKeys(cache);
      return CACHE_PREFIXES.every((prefix) => cacheKeys.some((k) => k.startsWith(prefix)));
    }, { detail: () => `missing: ${CACHE_PREFIXES.filter((prefix) => !cacheKeys.some((k) => k.startsWith(prefix))).join(', ')}` });
    assert.deepEqual((await durableCacheKeys()).filter((k) => !durableCacheKeysBefore.has(k)), [], 'no cache keys of this gateway in the durable instance');

    const maxmemory = await configValue(cache, 'maxmemory');
    const evictedBefore = Number(await info(cache, 'stats', 'evicted_keys'));
    const durableEvictedBefore = Number(await info(durable, 'stats', 'evicted_keys'));
    try {
      // A small limit for this test: 2 MB over what the cache holds now, then 6 MB of reads' answers.
      await cache.config('SET', 'maxmemory', String(Number(await info(cache, 'memory', 'used_memory')) + 2 * 1024 * 1024));
      const filler = 'x'.repeat(64 * 1024);
      const fill = cache.pipeline();
      for (let i = 0; i < 96; i++) fill.set(`omnigate:stale:fill:${i}`, filler, 'PX', 60_000);
      const results = (await fill.exec()) ?? [];
      assert.ok(results.every(([err]) => err === null), 'the cache accepts every write, making room by eviction');
      assert.ok(Number(await info(cache, 'stats', 'evicted_keys')) > evictedBefore, 'the cache evicted keys');

      // The outbox: an event goes through the node's Redis stream to a subscriber.
      // Its bucket's stream; with the in-process bus the buckets are this node's own.
      const outboxKey = bucketKey(outboxBucketOf('durability'), gw.events.nodeId);
      const received: CloudEvent[] = [];
      const subscription = await gw.events.subscribe(`durability-${randomUUID()}`, async (event) => void received.push(event));
      await subscription.ready;
      const event = cloudEvent({ source: '/test', type: 'test.durability', partitionkey: 'durability', data: { n: 1 } });
      await gw.events.publish([event]);
      assert.ok((await durable.exists(outboxKey)) === 1, 'the outbox stream lives in the durable instance');
      for (let i = 0; i < 100 && !received.some((e) => e.id === event.id); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(received.some((e) => e.id === event.id), 'the event came through the outbox');
      await subscription.close();

      // The job queue: a ticket queued with respond-async is opened by a worker.
      const queued = await gw.api('/v1/tickets', {
        method: 'POST', headers: { 'content-type': 'application/json', prefer: 'respond-async' },
        body: JSON.stringify({ customerId: '7', subject: 'queued while the cache is full', description: 'the parcel arrived damaged' }),
      });
      assert.equal(queued.status, 202);
      const { job } = (await queued.json()) as { job: { id: string } };
      let state = '';
      for (let i = 0; i < 150 && state !== 'completed'; i++) {
        state = ((await (await gw.api(`/v1/jobs/${job.id}`)).json()) as { state: string }).state;
        if (state !== 'completed') await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(state, 'completed');

      assert.equal(Number(await info(durable, 'stats', 'evicted_keys')), durableEvictedBefore, 'the durable instance evicted nothing');
      const strays = (await allKeys(cache)).filter((k) => !CACHE_PREFIXES.some((p) => k.startsWith(p)));
      assert.deepEqual(strays, [], 'every key in the cache instance is a cache key (outbox, queues and the rest live in the durable one)');
    } finally {
      await cache.config('SET', 'maxmemory', maxmemory);
      const fills = (await allKeys(cache)).filter((k) => k.startsWith('omnigate:stale:fill:'));
      if (fills.length > 0) await cache.del(...fills);
    }
  });

  test('/readyz is degraded with the reason while the durable Redis nears its maxmemory or runs another eviction policy, and ready again after', async () => {
    const readiness = async () => (await assertMatchesSpec(await fetch(`${gw.url}/readyz`), 'readiness')) as { status: string; stores: { name: string; status: string; warning?: string }[] };
    const durableStore = async () => (await readiness()).stores.find((s) => s.name === 'redis');
    assert.deepEqual(await durableStore(), { name: 'redis', status: 'up' });
    const maxmemory = await configValue(durable, 'maxmemory');
    try {
      // Three times what it holds: a third of the limit, past the 20% this gateway warns from.
      await durable.config('SET', 'maxmemory', String(3 * Number(await info(durable, 'memory', 'used_memory'))));
      const nearlyFull = await readiness();
      assert.equal(nearlyFull.status, 'degraded');
      assert.match(nearlyFull.stores.find((s) => s.name === 'redis')?.warning ?? '', /^memory at \d+% of maxmemory .* warning from 20%/);
      await durable.config('SET', 'maxmemory', maxmemory);
      assert.deepEqual(await durableStore(), { name: 'redis', status: 'up' });

      await durable.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const evicting = await readiness();
      assert.equal(evicting.status, 'degraded');
      assert.equal(evicting.stores.find((s) => s.name === 'redis')?.warning, 'maxmemory-policy is allkeys-lru, must be noeviction: keys may be evicted');
    } finally {
      await durable.config('SET', 'maxmemory', maxmemory);
      await durable.config('SET', 'maxmemory-policy', 'noeviction');
    }
    assert.equal((await readiness()).status, 'ready');
  });
});

describe('a crash of the durable Redis', () => {
  test('loses no acknowledged write: an outbox entry is still there after redis-server is killed and started again', async () => {
    const redisPort = await freePort();
    const dir = join(ROOT_DIR, `.data/test-redis-crash-${redisPort}`);
    rmSync(dir, { recursive: true, force: true });
    let redis = await startRedis({ port: redisPort, dir, role: 'durable' });
    try {
      const client = new Redis(redis.url);
      const id = await client.xadd('omnigate:outbox:crash', '*', 'e', '{"id":"acknowledged"}', 't', '');
      client.disconnect();
      await redis.kill();
      redis = await startRedis({ port: redisPort, dir, role: 'durable' });
      const after = new Redis(redis.url);
      const entries = await after.xrange('omnigate:outbox:crash', '-', '+');
      after.disconnect();
      assert.deepEqual(entries.map(([entryId]) => entryId), [id]);
    } finally {
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('docker/compose.yaml', () => {
  test('runs the durable and the cache Redis with the settings of their role, a volume for the AOF, and gives the gateway both URLs', () => {
    type Service = { command?: string[]; volumes?: string[]; environment?: Record<string, string>; depends_on?: Record<string, unknown> };
    const compose = parse(readFileSync(join(ROOT_DIR, 'docker/compose.yaml'), 'utf8')) as { services: Record<string, Service> };
    const services: Record<RedisRole, string> = { durable: 'redis', cache: 'redis-cache' };
    for (const [role, name] of Object.entries(services) as [RedisRole, string][]) {
      const command = compose.services[name]?.command ?? [];
      assert.equal(command[0], 'redis-server', name);
      assertSetting(command, REDIS_SETTINGS[role], name);
      assert.match(command[command.indexOf('--maxmemory') + 1] ?? '', /^[1-9]\d*(mb|gb)$/, `${name}: --maxmemory`);
    }
    assert.ok(compose.services.redis?.volumes?.some((v) => v.endsWith(':/data')), 'the AOF lives on a volume');
    const gateway = compose.services.gateway;
    assert.equal(gateway?.environment?.REDIS_URL, 'redis://redis:6379');
    assert.equal(gateway?.environment?.REDIS_CACHE_URL, 'redis://redis-cache:6379');
    assert.ok(gateway?.depends_on?.redis && gateway.depends_on['redis-cache'], 'the gateway waits for both');
  });
});
