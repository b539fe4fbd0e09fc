import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Cluster } from 'ioredis';
import { pino } from 'pino';
import type { LineageStoreOptions } from '../../src/adapters/lineage-pages.ts';
import { createMemoryLineageStore } from '../../src/adapters/memory/memory-lineage-store.ts';
import { createRedis, type RedisHandle } from '../../src/adapters/redis/redis-client.ts';
import { createRedisLineageStore, lineageKeys } from '../../src/adapters/redis/redis-lineage-store.ts';
import type { BusinessKey, LineageEntry, UnderstandingEntry } from '../../src/modules/lineage/lineage.types.ts';
import type { LineagePage, LineageStore } from '../../src/ports/lineage-store.ts';
import { TEST_REDIS_CLUSTER_NODES, TEST_REDIS_URL } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

// One suite for the LineageStore port, run against the in-memory adapter, a standalone Redis and
// the test run's three-master Redis Cluster (every index's keys share one hash tag). Time is a
// clock the test moves, so retention needs no waiting.
const DAY = 24 * 60 * 60_000;
const T0 = Date.parse('2026-01-10T10:00:00.000Z');
let redis: RedisHandle | undefined;
let cluster: Cluster | undefined;

before(async () => {
  redis = createRedis(TEST_REDIS_URL, pino({ level: 'silent' }));
  cluster = new Cluster(TEST_REDIS_CLUSTER_NODES, { enableOfflineQueue: true });
  await waitFor('Redis and the Redis Cluster to be up', () => redis?.isUp() && cluster?.status === 'ready', { timeoutMs: 10_000 });
});
after(async () => {
  await redis?.close();
  await cluster?.quit();
});

interface Rig {
  store: LineageStore;
  clock: { now: number };
}
type Options = Partial<Omit<LineageStoreOptions, 'now'>>;
const adapters: Record<string, (options: Options) => Rig> = {
  'in-memory': (options) => rig((o) => createMemoryLineageStore(o), options),
  redis: (options) => rig((o) => createRedisLineageStore((redis as RedisHandle).client, o), options),
  'redis cluster': (options) => rig((o) => createRedisLineageStore(cluster as Cluster, o), options),
};
function rig(make: (o: LineageStoreOptions) => LineageStore, options: Options): Rig {
  const clock = { now: T0 };
  return { clock, store: make({ retentionMs: 30 * DAY, maxPerConversation: 1_000, maxPerRecord: 1_000, ...options, now: () => clock.now }) };
}

const at = (ms: number) => new Date(ms).toISOString();
function call(conversationId: string, atMs: number, keys: BusinessKey[], extra: Partial<LineageEntry> = {}): LineageEntry {
  return {
    id: `lin_${randomUUID()}`, at: at(atMs), conversationId, messageSeq: 2, actor: { kind: 'bot', id: 'builtin' }, purpose: 'bot.order_status',
    capability: 'order.get', access: 'read', connector: 'orders-java', version: '1.0.0', system: 'orders',
    outcome: { status: 'ok', latencyMs: 12, breaker: 'closed' }, keys, traceId: 'a'.repeat(32), ...extra,
  };
}
function understanding(conversationId: string, atMs: number): UnderstandingEntry {
  return { id: `und_${randomUUID()}`, at: at(atMs), conversationId, messageSeq: 1, actor: { kind: 'bot', id: 'builtin' }, intent: 'order_status', confidence: 0.9, entities: { order: ['ORD-1'] }, traceId: 'b'.repeat(32) };
}
const order = (id = `ORD-${randomUUID()}`): BusinessKey => ({ system: 'orders', type: 'order', id });
const ids = (page: LineagePage<{ id: string }>) => page.items.map((e) => e.id);

/** Every item of a listing, page by page. */
async function all<T extends { id: string }>(read: (cursor?: string) => Promise<LineagePage<T>>): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await read(cursor);
    items.push(...page.items);
    pages += 1;
    cursor = page.next;
  } while (cursor !== undefined && pages < 100);
  return { items, pages };
}

for (const [name, make] of Object.entries(adapters)) {
  describe(`LineageStore conformance: ${name}`, () => {
    test('a conversation lists its understandings and calls oldest first; a record its calls newest first', async () => {
      const { store } = make({});
      const conversationId = randomUUID();
      const key = order();
      const first = understanding(conversationId, T0 - 3_000);
      const second = call(conversationId, T0 - 2_000, [key, { system: 'orders', type: 'customer', id: `C-${randomUUID()}` }]);
      const third = call(conversationId, T0 - 1_000, [key], { outcome: { status: 'error', code: 'UPSTREAM_UNAVAILABLE', latencyMs: 3, breaker: 'open' } });
      await store.record(third);
      await store.understood(first);
      await store.record(second);
      const trace = await store.byConversation(conversationId, { limit: 10 });
      assert.deepEqual(trace.items, [first, second, third]);
      assert.equal(trace.next, undefined);
      assert.deepEqual(ids(await store.byRecord(key, { limit: 10 })), [third.id, second.id]);
      assert.deepEqual(ids(await store.byRecord({ system: 'crm', id: key.id }, { limit: 10 })), [], 'a record is its system and id');
      assert.deepEqual(await store.byConversation(randomUUID(), { limit: 10 }), { items: [] });
    });

    test('recording an entry again (same id) stores it once, in every index', async () => {
      const { store } = make({});
      const conversationId = randomUUID();
      const key = order();
      const entry = call(conversationId, T0 - 1_000, [key, key]);
      await store.record(entry);
      await store.record(entry);
      await store.record({ ...entry, shown: 'something else' });
      assert.deepEqual((await store.byConversation(conversationId, { limit: 10 })).items, [entry]);
      assert.deepEqual((await store.byRecord(key, { limit: 10 })).items, [entry]);
    });

    test('one record touched by two conversations lists the calls of both', async () => {
      const { store } = make({});
      const key = order();
      const [a, b] = [randomUUID(), randomUUID()];
      const fromA = call(a, T0 - 2_000, [key]);
      const fromB = call(b, T0 - 1_000, [key], { actor: { kind: 'agent', id: 'agent-7' }, purpose: 'console', shown: 'the whole order, to agent-7' });
      await store.record(fromA);
      await store.record(fromB);
      assert.deepEqual((await store.byRecord(key, { limit: 10 })).items, [fromB, fromA]);
      assert.deepEqual(ids(await store.byConversation(a, { limit: 10 })), [fromA.id]);
      assert.deepEqual(ids(await store.byConversation(b, { limit: 10 })), [fromB.id]);
    });

    test('pages follow the cursor without a gap or a repeat, also among entries of the same millisecond', async () => {
      const { store } = make({});
      const conversationId = randomUUID();
      const key = order();
      const entries = [0, 1, 1, 1, 2, 3, 3].map((i) => call(conversationId, T0 - 10_000 + i, [key]));
      for (const entry of entries) await store.record(entry);
      const forward = await all((cursor) => store.byConversation(conversationId, { limit: 2, ...(cursor ? { cursor } : {}) }));
      assert.equal(forward.pages, 4);
      assert.deepEqual(forward.items.map((e) => e.at), entries.map((e) => e.at));
      assert.equal(new Set(forward.items.map((e) => e.id)).size, entries.length);
      const backward = await all((cursor) => store.byRecord(key, { limit: 3, ...(cursor ? { cursor } : {}) }));
      assert.deepEqual(backward.items.map((e) => e.id), forward.items.map((e) => e.id).reverse());
      await assert.rejects(store.byRecord(key, { limit: 3, cursor: 'not-ours' }), { code: 'VALIDATION_FAILED' });
    });

    test('entries past the retention are neither listed nor stored', async () => {
      const { store, clock } = make({ retentionMs: DAY });
      const conversationId = randomUUID();
      const key = order();
      await store.record(call(conversationId, T0 - DAY - 1, [key]));
      const kept = call(conversationId, T0 - DAY + 60_000, [key]);
      const newer = call(conversationId, T0 - 1_000, [key]);
      await store.record(kept);
      await store.record(newer);
      assert.deepEqual(ids(await store.byConversation(conversationId, { limit: 10 })), [kept.id, newer.id]);
      clock.now = T0 + 60_001;
      assert.deepEqual(ids(await store.byConversation(conversationId, { limit: 10 })), [newer.id], 'an entry ages out as time passes');
      assert.deepEqual(ids(await store.byRecord(key, { limit: 10 })), [newer.id]);
      clock.now = T0 + DAY;
      assert.deepEqual(await store.byRecord(key, { limit: 10 }), { items: [] });
    });

    test('each index keeps its newest entries up to its bound', async () => {
      const { store } = make({ maxPerConversation: 3, maxPerRecord: 2 });
      const conversationId = randomUUID();
      const key = order();
      const entries = [5, 4, 3, 2, 1].map((ago) => call(conversationId, T0 - ago * 1_000, [key]));
      for (const entry of entries) await store.record(entry);
      await store.understood(understanding(conversationId, T0 - 10_000));
      assert.deepEqual(ids(await store.byConversation(conversationId, { limit: 10 })), entries.slice(2).map((e) => e.id), 'an understanding older than the kept ones is dropped too');
      assert.deepEqual(ids(await store.byRecord(key, { limit: 10 })), [entries[4]!.id, entries[3]!.id]);
    });
  });
}

describe('LineageStore on Redis', () => {
  test("an index's keys share one hash tag and lapse a retention after the last write", async () => {
    const client = (redis as RedisHandle).client;
    const store = createRedisLineageStore(client, { retentionMs: DAY, maxPerConversation: 10, maxPerRecord: 10 });
    const conversationId = randomUUID();
    const key = order();
    await store.record(call(conversationId, Date.now(), [key]));
    for (const keys of [lineageKeys.conversation(conversationId), lineageKeys.record(key.system, key.id)]) {
      assert.equal(/\{[^}]+\}/.exec(keys.index)?.[0], /\{[^}]+\}/.exec(keys.data)?.[0]);
      for (const k of [keys.index, keys.data]) {
        const ttl = await client.pttl(k);
        assert.ok(ttl > DAY - 60_000 && ttl <= DAY, `${k} expires within the retention (${ttl} ms)`);
      }
    }
  });
});
