import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { createMemoryEventBus } from '../../adapters/memory/memory-event-bus.ts';
import { createMemoryLeaseStore } from '../../adapters/memory/memory-lease-store.ts';
import { createMemoryOutboxBell } from '../../adapters/memory/memory-outbox-bell.ts';
import { createMemoryStreamStore } from '../../adapters/memory/memory-stream-store.ts';
import { cloudEvent } from '../../kernel/events.ts';
import type { CloudEvent, EventBus } from '../../ports/event-bus.ts';
import type { LeaseStore } from '../../ports/lease-store.ts';
import type { OutboxBell } from '../../ports/outbox-bell.ts';
import type { StreamStore } from '../../ports/stream-store.ts';
import { createMetrics } from '../observability/metrics.ts';
import { bucketKey, outboxBucketOf } from './outbox-buckets.ts';
import { createOutbox, type Outbox } from './outbox.ts';

// The real outbox (buckets, relay, leases) over the in-memory stream and lease stores and the
// in-process bus. The bus's refusals are injected at the port, as Kafka would refuse.
const log = pino({ level: 'silent' });
const open: Outbox[] = [];
after(async () => {
  for (const outbox of open) await outbox.close();
});

/** The in-process bus, which refuses while `down`, or any batch past `maxBatch` as too large. */
function refusingBus(refuse: { down: boolean; maxBatch: number }) {
  const bus = createMemoryEventBus();
  const got: CloudEvent[] = [];
  const wrapped: EventBus = {
    ...bus,
    async publish(events, options) {
      if (refuse.down) throw new Error('broker unreachable');
      if (events.length > refuse.maxBatch) throw Object.assign(new Error('batch refused'), { type: 'MESSAGE_TOO_LARGE' });
      await bus.publish(events, options);
    },
  };
  void bus.subscribe('test', async (event) => void got.push(event));
  return { bus: wrapped, got };
}

function outboxOf(bus: EventBus, stores: { streams: StreamStore; leases: LeaseStore }, node = 'node-a', leaseMs?: number, bell?: OutboxBell): Outbox {
  // With a bell, a poll so long that only a nudge or a ring gets an event out within a test's wait.
  const outbox = createOutbox({ ...stores, bus, log, metrics: createMetrics(), nodeId: node, instanceId: `${node}#1`, buckets: 4, ...(leaseMs ? { leaseMs } : {}), ...(bell ? { bell, pollMs: 60_000 } : {}) });
  open.push(outbox);
  return outbox;
}
const stores = () => ({ streams: createMemoryStreamStore(), leases: createMemoryLeaseStore() });
const events = (keys: string[], perKey: number) => Array.from({ length: perKey }, (_, n) => keys.map((key) => cloudEvent({ source: '/test', type: 'test.happened', partitionkey: key, data: { key, n } }))).flat();
async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; !(await check()); i++) {
    if (i > 2_000) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
const order = (got: CloudEvent[], key: string) => got.filter((e) => e.partitionkey === key).map((e) => (e.data as { n: number }).n);

test('relays what is emitted to the bus, in order per key, and keeps nothing once the bus has it', async () => {
  const { bus, got } = refusingBus({ down: false, maxBatch: 1_000 });
  const outbox = outboxOf(bus, stores());
  const sent = events(['a', 'b', 'c'], 10);
  await outbox.emit(sent.slice(0, 12));
  await outbox.emit(sent.slice(12));
  await until(() => got.length === sent.length);
  for (const key of ['a', 'b', 'c']) assert.deepEqual(order(got, key), [...Array(10).keys()]);
  assert.equal(await outbox.depth(), 0);
});

test('what waits in several buckets goes out in one send per topic, in order per key', async () => {
  const { bus, got } = refusingBus({ down: false, maxBatch: 1_000 });
  const sends: { topic: string | undefined; count: number }[] = [];
  const counting: EventBus = { ...bus, publish: async (batch, options) => { sends.push({ topic: options?.topic, count: batch.length }); await bus.publish(batch, options); } };
  const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
  assert.ok(new Set(keys.map((k) => outboxBucketOf(k, 4))).size >= 3, 'the keys fall in several buckets');
  const outbox = outboxOf(counting, stores());
  const sent = events(keys, 5);
  await outbox.emit(sent);
  await outbox.emit(events(['a'], 2), 'other');
  await until(() => got.length === sent.length);
  for (const key of keys) assert.deepEqual(order(got, key), [...Array(5).keys()]);
  assert.deepEqual(sends.filter((s) => s.topic === undefined), [{ topic: undefined, count: sent.length }]);
  await until(async () => (await outbox.depth()) === 0);
  assert.deepEqual(sends.filter((s) => s.topic === 'other'), [{ topic: 'other', count: 2 }]);
});

test('while the bus refuses, events wait in the streams; they go out in order once it is back', async () => {
  const refuse = { down: true, maxBatch: 1_000 };
  const { bus, got } = refusingBus(refuse);
  const outbox = outboxOf(bus, stores());
  await outbox.emit(events(['k'], 5));
  assert.equal(await outbox.depth(), 5);
  assert.equal(await outbox.flush(20), false, 'nothing goes out while the bus is down');
  refuse.down = false;
  assert.equal(await outbox.flush(10_000), true);
  assert.deepEqual(order(got, 'k'), [0, 1, 2, 3, 4]);
});

test('batches the bus refuses as too large go in smaller ones; an entry that is no event is set aside, the rest go on', async () => {
  const { bus, got } = refusingBus({ down: false, maxBatch: 2 });
  const store = stores();
  const bucket = bucketKey(outboxBucketOf('k', 4), 'node-a');
  await store.streams.append([{ stream: bucket, fields: { e: 'not json', t: '' } }]);
  const outbox = outboxOf(bus, store);
  await outbox.emit(events(['k'], 7));
  await until(() => got.length === 7);
  assert.deepEqual(order(got, 'k'), [0, 1, 2, 3, 4, 5, 6]);
  const dead = await store.streams.range(`${bucket}:dead`, { count: 10 });
  assert.deepEqual(dead.map((e) => e.fields), [{ e: 'not json', t: '', why: 'not a CloudEvent' }]);
});

test('two nodes share the buckets through leases: every event goes out once, in order per key', async () => {
  const { bus, got } = refusingBus({ down: false, maxBatch: 1_000 });
  const shared = stores();
  const a = outboxOf(bus, shared, 'node-a', 200);
  const b = outboxOf(bus, shared, 'node-b', 200);
  const sent = events(['w', 'x', 'y', 'z'], 5);
  await a.emit(sent.slice(0, 10));
  await b.emit(sent.slice(10));
  await until(() => got.length >= sent.length);
  assert.equal(new Set(got.map((e) => e.id)).size, sent.length);
  assert.equal(got.length, sent.length);
  for (const key of ['w', 'x', 'y', 'z']) assert.deepEqual(order(got, key), [0, 1, 2, 3, 4]);
});

describe('with the bell, the relay polls only as a safety net (here: once a minute)', () => {
  test('events emitted while a round is in flight go out right after it, not at the next poll', async () => {
    const { bus, got } = refusingBus({ down: false, maxBatch: 1_000 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let sends = 0;
    const gated: EventBus = { ...bus, publish: async (batch, options) => { if (sends++ === 0) await held; await bus.publish(batch, options); } };
    const outbox = outboxOf(gated, stores(), 'node-a', undefined, createMemoryOutboxBell());
    await outbox.emit(events(['first'], 1));
    await until(() => sends === 1);
    await outbox.emit(events(['second'], 1));
    release();
    await until(() => got.length === 2);
    assert.deepEqual(got.map((e) => e.partitionkey), ['first', 'second']);
  });

  test('events one node emits into buckets another node holds go out when the bell rings there', async () => {
    const { bus, got } = refusingBus({ down: false, maxBatch: 1_000 });
    const shared = stores();
    const bell = createMemoryOutboxBell();
    const a = outboxOf(bus, shared, 'node-a', 1_000, bell);
    outboxOf(bus, shared, 'node-b', 1_000, bell);
    // Leases renew every 100 ms: the buckets have settled between the two nodes well within this.
    await new Promise((r) => setTimeout(r, 1_000));
    const keys = ['w', 'x', 'y', 'z', 'v', 'u'];
    assert.equal(new Set(keys.map((k) => outboxBucketOf(k, 4))).size, 4, 'the keys fall in every bucket');
    await a.emit(events(keys, 2));
    await until(() => got.length === keys.length * 2);
    for (const key of keys) assert.deepEqual(order(got, key), [0, 1]);
  });

  test('a bell that cannot be heard at first (Redis slow at start) is listened to again, and then rings reach the relay', async () => {
    const { bus, got } = refusingBus({ down: false, maxBatch: 1_000 });
    const store = stores();
    const bell = createMemoryOutboxBell();
    let refused = 0;
    const slow: OutboxBell = { ...bell, listen: async (listener) => (refused++ === 0 ? Promise.reject(new Error('Command timed out')) : bell.listen(listener)) };
    const outbox = outboxOf(bus, store, 'node-a', undefined, slow);
    await until(() => refused === 2);
    // Heard now: the relay has gone over to the minute's poll, so only the ring gets this out.
    await outbox.flush(1_000);
    await new Promise((r) => setTimeout(r, 100));
    const [event] = events(['late'], 1);
    const stream = outbox.streamKey(outboxBucketOf('late', 4));
    await store.streams.append([{ stream, fields: { e: JSON.stringify(event), t: '' } }]);
    bell.ring([stream]);
    await until(() => got.length === 1);
    assert.equal(got[0]?.id, event?.id);
  });

  test('an append that rings the bell itself (as the conversation script does) is relayed at once', async () => {
    const { bus, got } = refusingBus({ down: false, maxBatch: 1_000 });
    const store = stores();
    const bell = createMemoryOutboxBell();
    const outbox = outboxOf(bus, store, 'node-a', undefined, bell);
    await outbox.flush(1_000);
    const [event] = events(['scripted'], 1);
    const stream = outbox.streamKey(outboxBucketOf('scripted', 4));
    await store.streams.append([{ stream, fields: { e: JSON.stringify(event), t: '' } }]);
    bell.ring([stream]);
    await until(() => got.length === 1);
    assert.equal(got[0]?.id, event?.id);
  });
});
