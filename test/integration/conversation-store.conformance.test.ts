import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Cluster } from 'ioredis';
import { pino } from 'pino';
import { createMemoryChatFanout } from '../../src/adapters/memory/memory-chat-fanout.ts';
import { createMemoryConversationStore } from '../../src/adapters/memory/memory-conversation-store.ts';
import { createMemoryStreamStore } from '../../src/adapters/memory/memory-stream-store.ts';
import { createRedisChatFanout } from '../../src/adapters/redis/redis-chat-fanout.ts';
import { createRedis, type RedisHandle } from '../../src/adapters/redis/redis-client.ts';
import { conversationKeys, createRedisConversationStore } from '../../src/adapters/redis/redis-conversation-store.ts';
import { createRedisOutboxBell } from '../../src/adapters/redis/redis-outbox-bell.ts';
import { createRedisStreamStore } from '../../src/adapters/redis/redis-stream-store.ts';
import { CONVERSATIONS_TOPIC } from '../../src/kernel/events.ts';
import type { ConversationEvent } from '../../src/modules/chat/conversation.types.ts';
import { bucketKey, outboxBucketOf } from '../../src/modules/events/outbox-buckets.ts';
import type { ChatFanout, FanoutMessage } from '../../src/ports/chat-fanout.ts';
import type { AppendInput, ConversationStore, UnnumberedEvent } from '../../src/ports/conversation-store.ts';
import type { StreamEntry } from '../../src/ports/stream-store.ts';
import { TEST_REDIS_CLUSTER_NODES, TEST_REDIS_URL } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

// One suite for the ConversationStore and ChatFanout ports, run against memory, the test Redis
// and the three-master Redis Cluster of the test run.
const BUCKETS = 16;
const WAIT = { timeoutMs: 10_000 };
/** This run's outbox streams: a scope of their own, so no gateway's relay takes the entries. */
const SCOPE = `conformance-${randomUUID()}`;
const outboxKey = (bucket: number) => bucketKey(bucket, SCOPE);

interface Subject {
  store: ConversationStore<ConversationEvent>;
  fanout: ChatFanout;
  /** The outbox entries of a conversation's bucket. */
  outbox(conversationId: string): Promise<StreamEntry[]>;
  /** Drops the fan-out's subscriber connections, as a network fault would (Redis only). */
  dropSubscribers?(): Promise<void>;
}

let redis: RedisHandle | undefined;
let cluster: Cluster | undefined;
const memoryOutbox = createMemoryStreamStore();
const adapters: Record<string, () => Subject> = {
  memory: () => {
    const fanout = createMemoryChatFanout();
    const store = createMemoryConversationStore<ConversationEvent>({ nodeId: 'n-1', fanout, outbox: { streams: memoryOutbox, keyOf: (id) => outboxKey(outboxBucketOf(id, BUCKETS)) } });
    return { store, fanout, outbox: (id) => memoryOutbox.range(outboxKey(outboxBucketOf(id, BUCKETS)), { count: 10_000 }) };
  },
  redis: () => {
    const handle = redis as RedisHandle;
    const streams = createRedisStreamStore(handle);
    return {
      store: createRedisConversationStore({ client: handle.client, isUp: handle.isUp, nodeId: 'n-1', buckets: BUCKETS, outboxKey }),
      fanout: createRedisChatFanout({ client: handle.client, log: pino({ level: 'silent' }) }),
      outbox: (id) => streams.range(outboxKey(outboxBucketOf(id, BUCKETS)), { count: 10_000 }),
      dropSubscribers: async () => void (await handle.client.client('KILL', 'TYPE', 'pubsub')),
    };
  },
  'redis cluster': () => {
    const client = cluster as Cluster;
    return {
      store: createRedisConversationStore({ client, isUp: () => client.status === 'ready', nodeId: 'n-1', buckets: BUCKETS, outboxKey }),
      fanout: createRedisChatFanout({ client, log: pino({ level: 'silent' }) }),
      outbox: async (id) => ((await client.xrange(outboxKey(outboxBucketOf(id, BUCKETS)), '-', '+')) as [string, string[]][]).map(([entryId, f]) => ({ id: entryId, fields: { e: f[1] as string, t: f[3] as string } })),
      dropSubscribers: async () => void (await Promise.all(client.nodes('master').map((node) => node.client('KILL', 'TYPE', 'pubsub')))),
    };
  },
};

before(async () => {
  redis = createRedis(TEST_REDIS_URL, pino({ level: 'silent' }));
  cluster = new Cluster(TEST_REDIS_CLUSTER_NODES, { enableOfflineQueue: true });
  await waitFor('Redis and the Redis Cluster to be up', () => redis?.isUp() && cluster?.status === 'ready', WAIT);
});
after(async () => {
  await redis?.close();
  await cluster?.quit();
});

const newId = () => `c-${randomUUID()}`;
const message = (text: string): UnnumberedEvent<ConversationEvent> => ({
  id: randomUUID(), type: 'conversation.message_sent', at: new Date().toISOString(), by: { kind: 'visitor', id: 'v-1' }, visibility: 'public',
  data: { messageId: randomUUID(), author: { kind: 'visitor', id: 'v-1' }, visibility: 'public', contentType: 'text', text },
});
const textOf = (event: ConversationEvent | undefined) => (event?.type === 'conversation.message_sent' && event.data.contentType === 'text' ? event.data.text : undefined);
const append = (store: ConversationStore<ConversationEvent>, conversationId: string, expectedSeq: number, texts: string[], extra: Partial<AppendInput<ConversationEvent>> = {}) =>
  store.append({ conversationId, expectedSeq, events: texts.map(message), snapshot: { texts }, ...extra });

for (const [name, make] of Object.entries(adapters)) {
  describe(`ConversationStore conformance: ${name}`, () => {
    test('numbers events 1, 2, 3 … across appends and reads them back as appended', async () => {
      const { store } = make();
      const id = newId();
      const first = await append(store, id, 0, ['a', 'b']);
      assert.equal(first.outcome, 'appended');
      assert.deepEqual(first.outcome === 'appended' && first.events.map((e) => [e.seq, textOf(e)]), [[1, 'a'], [2, 'b']]);
      const second = await append(store, id, 2, ['c']);
      assert.deepEqual([second.outcome, second.seq], ['appended', 3]);
      const all = await store.read(id);
      assert.deepEqual(all.map((e) => [e.seq, textOf(e)]), [[1, 'a'], [2, 'b'], [3, 'c']]);
      assert.deepEqual(all.slice(0, 2), first.outcome === 'appended' ? first.events : []);
    });

    test('an append at a stale expected seq is a conflict and changes nothing', async () => {
      const { store, outbox } = make();
      const id = newId();
      const index = `state:queued:${randomUUID()}`;
      await append(store, id, 0, ['a', 'b']);
      const before = (await outbox(id)).length;
      const stale = await append(store, id, 1, ['late'], { clientId: 'late-1', index: { add: [index], remove: [], score: 1 }, expireAfterMs: 10 });
      assert.deepEqual(stale, { outcome: 'conflict', seq: 2 });
      assert.deepEqual((await store.read(id)).map(textOf), ['a', 'b']);
      assert.deepEqual(await store.head(id), { seq: 2, snapshot: { texts: ['a', 'b'] }, hasStream: true });
      assert.equal((await outbox(id)).length, before, 'no outbox entry');
      assert.equal(await store.count(index), 0, 'no index move');
      // The client id was not taken: the same id at the right seq appends.
      assert.equal((await append(store, id, 2, ['now'], { clientId: 'late-1' })).outcome, 'appended');
    });

    test('a repeated client id answers the first seq and stores once, even at another expected seq', async () => {
      const { store, outbox } = make();
      const id = newId();
      assert.deepEqual((await append(store, id, 0, ['hello'], { clientId: 'm-1' })).seq, 1);
      await append(store, id, 1, ['other']);
      assert.deepEqual(await append(store, id, 0, ['hello'], { clientId: 'm-1' }), { outcome: 'duplicate', seq: 1 });
      assert.deepEqual(await append(store, id, 2, ['hello'], { clientId: 'm-1' }), { outcome: 'duplicate', seq: 1 });
      assert.deepEqual((await store.read(id)).map(textOf), ['hello', 'other']);
      assert.equal((await outbox(id)).filter((e) => JSON.parse(e.fields.e ?? '{}').subject === id).length, 2);
    });

    test('of concurrent appends at the same expected seq exactly one wins', async () => {
      const { store } = make();
      const id = newId();
      await append(store, id, 0, ['start']);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => append(store, id, 1, [`racer-${i}`])));
      assert.equal(results.filter((r) => r.outcome === 'appended').length, 1);
      assert.ok(results.every((r) => r.outcome === 'appended' || (r.outcome === 'conflict' && r.seq === 2)));
      assert.equal((await store.read(id)).length, 2);
    });

    test('reads ranges: after a seq, up to a seq, at most a limit', async () => {
      const { store } = make();
      const id = newId();
      await append(store, id, 0, ['1', '2', '3', '4', '5', '6']);
      const seqs = async (range: Parameters<typeof store.read>[1]) => (await store.read(id, range)).map((e) => e.seq);
      assert.deepEqual(await seqs({ afterSeq: 4 }), [5, 6]);
      assert.deepEqual(await seqs({ untilSeq: 2 }), [1, 2]);
      assert.deepEqual(await seqs({ afterSeq: 1, untilSeq: 5, limit: 2 }), [2, 3]);
      assert.deepEqual(await seqs({ afterSeq: 6 }), []);
      assert.deepEqual(await seqs({ afterSeq: 3, untilSeq: 3 }), []);
      assert.deepEqual(await store.read(newId()), []);
    });

    test('the head holds the last seq and the snapshot of the last append', async () => {
      const { store } = make();
      const id = newId();
      assert.equal(await store.head(id), undefined);
      await append(store, id, 0, ['a']);
      await store.append({ conversationId: id, expectedSeq: 1, events: [message('b')], snapshot: { status: 'queued', nested: { n: 2, list: [1, 'x'] } } });
      assert.deepEqual(await store.head(id), { seq: 2, snapshot: { status: 'queued', nested: { n: 2, list: [1, 'x'] } }, hasStream: true });
    });

    test('indexes: moves on append, newest first, paged by cursor across buckets, counted', async () => {
      const { store } = make();
      const queued = `state:queued:${randomUUID()}`;
      const assigned = `state:assigned:${randomUUID()}`;
      const ids = Array.from({ length: 23 }, newId);
      assert.ok(new Set(ids.map((id) => outboxBucketOf(id, BUCKETS))).size > 3, 'the conversations spread over buckets');
      // Scores with ties (two at each), so pages must cut between equal scores exactly.
      await Promise.all(ids.map((id, i) => append(store, id, 0, ['hi'], { index: { add: [queued], remove: [], score: 1_000 + Math.floor(i / 2) } })));
      assert.equal(await store.count(queued), 23);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page: { ids: string[]; next?: string } = await store.list(queued, { limit: 5, ...(cursor ? { cursor } : {}) });
        assert.ok(page.ids.length <= 5);
        seen.push(...page.ids);
        cursor = page.next;
      } while (cursor);
      assert.equal(seen.length, 23, 'every member once');
      assert.deepEqual(new Set(seen), new Set(ids));
      const rank = (id: string) => Math.floor(ids.indexOf(id) / 2);
      assert.ok(seen.every((id, i) => i === 0 || rank(seen[i - 1] as string) >= rank(id)), 'newest score first');

      for (const id of ids.slice(0, 4)) await append(store, id, 1, ['taken'], { index: { add: [assigned], remove: [queued], score: 5_000 } });
      assert.deepEqual([await store.count(queued), await store.count(assigned)], [19, 4]);
      assert.deepEqual(new Set((await store.list(assigned, { limit: 10 })).ids), new Set(ids.slice(0, 4)));
      assert.equal((await store.list(assigned, { limit: 10 })).next, undefined);
    });

    test('a closed conversation loses its stream after retention, keeps its head, and a later append keeps the new stream', async () => {
      const { store } = make();
      const id = newId();
      await append(store, id, 0, ['a', 'b'], { clientId: 'x-1', expireAfterMs: 30 });
      await waitFor('the stream to be removed', async () => (await store.head(id))?.hasStream === false, WAIT);
      assert.deepEqual(await store.head(id), { seq: 2, snapshot: { texts: ['a', 'b'] }, hasStream: false });
      assert.deepEqual(await store.read(id), []);

      // Reopened: the stream starts again at seq 3, without retention.
      const reopened = await append(store, id, 2, ['again'], { expireAfterMs: 30 });
      assert.deepEqual([reopened.outcome, reopened.seq], ['appended', 3]);
      await append(store, id, 3, ['kept']);
      // A conversation closed after the last append, with the same retention, goes first.
      const witness = newId();
      await append(store, witness, 0, ['w'], { expireAfterMs: 30 });
      await waitFor('the witness stream to be removed', async () => (await store.head(witness))?.hasStream === false, WAIT);
      assert.deepEqual((await store.read(id)).map((e) => [e.seq, textOf(e)]), [[3, 'again'], [4, 'kept']]);
      assert.equal((await store.head(id))?.hasStream, true);
    });

    test('writes each event to the outbox bucket stream in the same step: same id, topic and key', async () => {
      const { store, outbox } = make();
      const id = newId();
      const first = await append(store, id, 0, ['a', 'b']);
      const second = await append(store, id, 2, ['c']);
      const events = [...(first.outcome === 'appended' ? first.events : []), ...(second.outcome === 'appended' ? second.events : [])];
      const entries = (await outbox(id)).filter((e) => JSON.parse(e.fields.e ?? '{}').subject === id);
      assert.deepEqual(entries.map((e) => e.fields.t), [CONVERSATIONS_TOPIC, CONVERSATIONS_TOPIC, CONVERSATIONS_TOPIC]);
      const clouds = entries.map((e) => JSON.parse(e.fields.e ?? '{}') as Record<string, unknown>);
      assert.deepEqual(clouds, events.map((event) => ({
        specversion: '1.0', id: event.id, source: '/omnigate/nodes/n-1', type: event.type, subject: id, time: event.at, datacontenttype: 'application/json', partitionkey: id,
        data: { conversationId: id, seq: event.seq, by: event.by, visibility: event.visibility, data: event.data },
      })));
    });

    test('publishes every appended event as its exact stored JSON, and signals, to every subscriber', async () => {
      const { store, fanout } = make();
      const id = newId();
      const got: FanoutMessage[] = [];
      const also: FanoutMessage[] = [];
      const subscription = await fanout.subscribe((m) => got.push(m));
      const second = await fanout.subscribe((m) => also.push(m));
      try {
        const appended = [await append(store, id, 0, ['a', 'b']), await append(store, id, 2, ['c "quoted", "e":'])];
        await append(store, id, 0, ['conflict: not published']);
        await fanout.signal('typing', { conversationId: id, isTyping: true });
        const mine = (list: FanoutMessage[]) => list.filter((m) => (m.kind === 'event' ? m.conversationId === id : (m.payload as { conversationId?: string }).conversationId === id));
        await waitFor('3 events and a signal', () => mine(got).length === 4 && mine(also).length === 4, WAIT);
        const stored = await store.read(id);
        // Events in their order; the signal among them anywhere: on a Redis Cluster the script
        // publishes on the conversation's node and the signal goes out on another, and the
        // cluster bus orders only what one node published.
        const events = mine(got).filter((m) => m.kind === 'event');
        assert.deepEqual(events, appended.flatMap((r) => (r.outcome === 'appended' ? r.events : [])).map((event) => ({ kind: 'event', conversationId: id, seq: event.seq, json: JSON.stringify(event) })));
        assert.deepEqual(events.map((m) => (m.kind === 'event' ? JSON.parse(m.json) : undefined)), stored);
        assert.deepEqual(mine(got).filter((m) => m.kind === 'signal'), [{ kind: 'signal', topic: 'typing', payload: { conversationId: id, isTyping: true } }]);
        assert.deepEqual(mine(also), mine(got), 'every subscriber gets the same');
      } finally {
        await subscription.close();
        await second.close();
      }
    });
  });
}

describe('ChatFanout over Redis: a dropped subscriber', () => {
  for (const name of ['redis', 'redis cluster']) {
    test(`${name}: subscribes again, says so, and receives what comes after`, async () => {
      const { store, fanout, dropSubscribers } = (adapters[name] as () => Subject)();
      let resubscribed = 0;
      fanout.onResubscribed(() => (resubscribed += 1));
      const got: FanoutMessage[] = [];
      const subscription = await fanout.subscribe((m) => got.push(m));
      try {
        await dropSubscribers?.();
        await waitFor('the subscriber to be back', () => resubscribed > 0, WAIT);
        const id = newId();
        await append(store, id, 0, ['after the drop']);
        await waitFor('the event after the drop', () => got.some((m) => m.kind === 'event' && m.conversationId === id), WAIT);
      } finally {
        await subscription.close();
      }
    });
  }
});

describe('Redis: a node\'s own appends reach its subscribers without the round trip through pub/sub', () => {
  for (const name of ['redis', 'redis cluster']) {
    test(`${name}: onAppended has each durable append (seq and stored JSON) before append resolves, not a conflict or a duplicate`, async () => {
      const client = name === 'redis' ? redis!.client : cluster!;
      const handed: { conversationId: string; seq: number; json: string }[] = [];
      const store = createRedisConversationStore<ConversationEvent>({
        client, isUp: () => true, nodeId: 'n-1', buckets: BUCKETS, outboxKey, onAppended: (conversationId, events) => void handed.push(...events.map((e) => ({ conversationId, ...e }))),
      });
      const id = newId();
      assert.equal((await append(store, id, 0, ['a', 'b'], { clientId: 'own-1' })).outcome, 'appended');
      const stored = await store.read(id);
      // The stored JSON exactly, in seq order (what pub/sub carries).
      assert.deepEqual(handed, stored.map((e) => ({ conversationId: id, seq: e.seq, json: JSON.stringify(e) })));
      assert.deepEqual(handed.map((h) => JSON.parse(h.json) as unknown), stored);
      assert.equal((await append(store, id, 2, ['a'], { clientId: 'own-1' })).outcome, 'duplicate');
      assert.equal((await append(store, id, 1, ['late'])).outcome, 'conflict');
      assert.equal(handed.length, 2);
      assert.equal((await append(store, id, 2, ['c'])).outcome, 'appended');
      assert.deepEqual(handed.map((h) => h.seq), [1, 2, 3]);
    });

    test(`${name}: deliverAppended hands the events to this node's subscribers at once; pub/sub brings the published ones too`, async () => {
      const client = name === 'redis' ? redis!.client : cluster!;
      const fanout = createRedisChatFanout({ client, log: pino({ level: 'silent' }) });
      const store = createRedisConversationStore<ConversationEvent>({ client, isUp: () => true, nodeId: 'n-1', buckets: BUCKETS, outboxKey });
      const id = newId();
      const got: FanoutMessage[] = [];
      const subscription = await fanout.subscribe((m) => void (m.kind === 'event' && m.conversationId === id && got.push(m)));
      try {
        assert.equal((await append(store, id, 0, ['a'])).outcome, 'appended');
        await waitFor('the published event', () => got.length === 1, WAIT);
        const [event] = await store.read(id);
        const json = JSON.stringify(event);
        fanout.deliverAppended(id, [{ seq: 1, json }]);
        // Synchronously: no round trip.
        assert.deepEqual(got, [{ kind: 'event', conversationId: id, seq: 1, json }, { kind: 'event', conversationId: id, seq: 1, json }]);
      } finally {
        await subscription.close();
      }
    });
  }

  test('an append refused for want of replicas hands nothing over', async () => {
    const handed: number[] = [];
    const store = createRedisConversationStore<ConversationEvent>({
      client: redis!.client, isUp: () => true, nodeId: 'n-1', buckets: BUCKETS, outboxKey, waitReplicas: 1, waitTimeoutMs: 20, onAppended: (_id, events) => void handed.push(...events.map((e) => e.seq)),
    });
    await assert.rejects(append(store, newId(), 0, ['x']), { code: 'STORE_UNAVAILABLE' });
    assert.deepEqual(handed, []);
  });
});

describe('the outbox bell over Redis', () => {
  for (const name of ['redis', 'redis cluster']) {
    test(`${name}: an append rings it once with its bucket's outbox stream; another node's ring is heard; a dropped listener says it may have missed some`, async () => {
      const client = name === 'redis' ? redis!.client : cluster!;
      const log = pino({ level: 'silent' });
      const heard: string[][] = [];
      let missed = 0;
      const listener = await createRedisOutboxBell({ client, log }).listen({ onRing: (streams) => void heard.push([...streams]), onMissed: () => void (missed += 1) });
      try {
        const store = createRedisConversationStore<ConversationEvent>({ client, isUp: () => true, nodeId: 'n-1', buckets: BUCKETS, outboxKey });
        const id = newId();
        const stream = outboxKey(outboxBucketOf(id, BUCKETS));
        assert.equal((await append(store, id, 0, ['a', 'b'])).outcome, 'appended');
        await waitFor("the append's ring", () => heard.some((streams) => streams.includes(stream)), WAIT);
        const other = [`${stream}:other-1`, `${stream}:other-2`];
        createRedisOutboxBell({ client, log }).ring(other);
        await waitFor("another node's ring", () => heard.some((streams) => streams[0] === other[0]), WAIT);
        assert.deepEqual(heard.filter((streams) => streams.some((s) => s.startsWith(stream))), [[stream], other], 'one ring for the two events, then the other ring whole');

        await (name === 'redis' ? redis!.client.client('KILL', 'TYPE', 'pubsub') : Promise.all(cluster!.nodes('master').map((node) => node.client('KILL', 'TYPE', 'pubsub'))));
        await waitFor('the listener to say rings may have been missed', () => missed > 0, WAIT);
        const later = newId();
        await append(store, later, 0, ['after the drop']);
        await waitFor('a ring after the drop', () => heard.some((streams) => streams.includes(outboxKey(outboxBucketOf(later, BUCKETS)))), WAIT);
      } finally {
        await listener.close();
      }
    });
  }
});

describe('ConversationStore on the Redis Cluster', () => {
  test('appends conversations whose slots live on different masters, each in one script', async () => {
    const client = cluster as Cluster;
    const store = createRedisConversationStore<ConversationEvent>({ client, isUp: () => true, nodeId: 'n-1', buckets: BUCKETS, outboxKey });
    const masters = new Set<string>();
    for (const id of Array.from({ length: 12 }, newId)) {
      const slot = Number(await client.call('CLUSTER', 'KEYSLOT', conversationKeys(id, BUCKETS).events));
      masters.add(client.slots[slot]?.[0] ?? '?');
      assert.equal((await append(store, id, 0, ['x', 'y'], { index: { add: ['cluster-test'], remove: [], score: 1 } })).outcome, 'appended');
      assert.deepEqual((await store.read(id)).map((e) => e.seq), [1, 2]);
    }
    assert.ok(masters.size >= 2, `conversations on ${masters.size} master(s): ${[...masters].join(', ')}`);
  });

  test('with waitReplicas, an append no replica confirmed in time is refused (the masters have none)', async () => {
    for (const client of [redis?.client, cluster] as const) {
      const store = createRedisConversationStore<ConversationEvent>({ client: client!, isUp: () => true, nodeId: 'n-1', buckets: BUCKETS, outboxKey, waitReplicas: 1, waitTimeoutMs: 20 });
      const id = newId();
      await assert.rejects(append(store, id, 0, ['x'], { clientId: 'w-1' }), { code: 'STORE_UNAVAILABLE' });
      // It is in Redis all the same: a retry with the client id finds it (and is refused the same way).
      await assert.rejects(append(store, id, 0, ['x'], { clientId: 'w-1' }), { code: 'STORE_UNAVAILABLE' });
      assert.equal((await store.read(id)).length, 1);
    }
  });
});
