import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { once } from 'node:events';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { createRedis } from '../../src/adapters/redis/redis-client.ts';
import { createRedisStreamStore } from '../../src/adapters/redis/redis-stream-store.ts';
import { createKafkaEventBus } from '../../src/adapters/kafka/kafka-event-bus.ts';
import { createMemoryEventBus } from '../../src/adapters/memory/memory-event-bus.ts';
import { cloudEvent } from '../../src/kernel/events.ts';
import { createLogger } from '../../src/kernel/logger.ts';
import { createEventLog, EVENT_LOG_GROUP, EVENT_LOG_KEY } from '../../src/modules/events/event-log.ts';
import { createMetrics } from '../../src/modules/observability/metrics.ts';
import { API_KEY, setFault, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TEST_KAFKA_BROKERS, TEST_REDIS_URL } from '../support/ports.ts';
import { isEstablished } from '../support/sockets.ts';
import { assertMatchesSpec, assertSseMessageMatchesSpec } from '../support/spec.ts';
import { readSse } from '../support/sse.ts';

const ADMIN_KEY = 'admin-key-events-0123456789';
let gw: TestGateway;
before(async () => {
  gw = await startTestGateway({ OMNIGATE_ADMIN_KEYS: `ops:${ADMIN_KEY}`, OMNIGATE_RESILIENCE_ORDERS_JAVA_VOLUME_THRESHOLD: '2', OMNIGATE_RESILIENCE_ORDERS_JAVA_RETRIES: '0' });
});
after(() => gw.stop());

const reload = () => fetch(`${gw.url}/v1/admin/connectors/crm-python/reload`, { method: 'POST', headers: { 'x-api-key': ADMIN_KEY } });

describe('the event stream (SSE)', () => {
  test('streams connector lifecycle events as CloudEvents, needs a key, and filters by type and subject', async () => {
    assert.equal((await fetch(`${gw.url}/v1/events/stream`)).status, 401);
    const res = await gw.api('/v1/events/stream?type=connector.changed&subject=crm-python');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const stream = readSse(res);
    try {
      assert.equal((await reload()).status, 200);
      // The gateway's own start-up (action start) may still be on its way: wait for the reload.
      const message = await stream.next((m) => m.event === 'connector.changed' && (JSON.parse(m.data) as { data: { action: string } }).data.action === 'reload');
      const event = JSON.parse(message.data) as { specversion: string; type: string; subject: string; data: { action: string; result: string }; partitionkey: string };
      assert.equal(event.specversion, '1.0');
      assert.equal(event.subject, 'crm-python');
      assert.equal(event.partitionkey, 'crm-python');
      assert.deepEqual([event.data.action, event.data.result], ['reload', 'ok']);
      assert.match(message.id ?? '', /^\d+-\d+$/);
      assert.ok(stream.messages.every((m) => m.event === 'connector.changed'), 'the type filter holds');
    } finally {
      await stream.close();
    }
  });

  test('publishes breaker transitions', async () => {
    const stream = readSse(await gw.api('/v1/events/stream?type=breaker.state_changed'));
    try {
      await setFault('orders', { mode: 'down' });
      for (const n of [8001, 8002, 8003]) await gw.api(`/v1/orders/ORD-000${n}`);
      const message = await stream.next(() => true);
      const event = JSON.parse(message.data) as { data: { connector: string; capability: string; state: string } };
      assert.deepEqual(event.data, { connector: 'orders-java', capability: 'order.get', state: 'open' });
    } finally {
      await setFault('orders', { mode: 'ok' });
      await stream.close();
    }
  });

  test('resumes after Last-Event-ID with every event missed, in order, then live ones', async () => {
    const first = readSse(await gw.api('/v1/events/stream?type=connector.changed'));
    await reload();
    const seen = await first.next(() => true);
    await first.close();
    await reload();
    await reload();
    const resumed = readSse(await gw.api('/v1/events/stream?type=connector.changed', { headers: { 'last-event-id': seen.id ?? '' } }));
    try {
      await resumed.next((m) => resumed.messages.length >= 2 && m === resumed.messages[1]);
      const ids = resumed.messages.map((m) => m.id ?? '');
      assert.ok(ids.every((id) => id > (seen.id ?? '')), 'nothing at or before the resume point');
      assert.deepEqual(ids, [...ids].sort());
      await reload();
      await resumed.next((m) => resumed.messages.length >= 3 && m === resumed.messages[2]);
      assert.equal(new Set(resumed.messages.map((m) => m.id)).size, resumed.messages.length, 'no event twice');
    } finally {
      await resumed.close();
    }
  });

  test('exports event metrics: produced, consumed per group, outbox depth', async () => {
    const text = await (await gw.api('/metrics')).text();
    assert.match(text, /omnigate_events_produced_total [1-9]\d*/);
    assert.match(text, /omnigate_events_consumed_total\{group="omnigate-event-log",type="connector\.changed"\} [1-9]\d*/);
    assert.match(text, /omnigate_outbox_depth \d+/);
    assert.match(text, /# TYPE omnigate_consumer_lag gauge/);
  });
});

describe('the event log', () => {
  test('writes an event relayed twice at once (a redelivery to a second node) to the log once', async () => {
    const log = createLogger({ level: 'silent' });
    const redis = createRedis(TEST_REDIS_URL, log);
    if (!redis.isUp()) await once(redis.client, 'ready');
    const nodes = await Promise.all([0, 1].map(async () => {
      const bus = createMemoryEventBus();
      const metrics = createMetrics();
      return { bus, metrics, eventLog: await createEventLog({ bus, streams: createRedisStreamStore(redis), log, metrics }) };
    }));
    try {
      const event = cloudEvent({ source: '/test', type: 'test.relayed', partitionkey: 'p', data: { n: 1 } });
      await Promise.all(nodes.map((n) => n.bus.publish([event])));
      const logged = async () => ((await redis.client.xrange(EVENT_LOG_KEY, '-', '+')) as [string, string[]][]).filter(([, fields]) => fields[1]?.includes(event.id));
      // Each node counts the event once its writer is done with it: written, or found written already.
      const handled = async (metrics: ReturnType<typeof createMetrics>) => {
        const counts = [...(await metrics.eventsConsumed.get()).values, ...(await metrics.eventsDuplicate.get()).values];
        return counts.filter((c) => c.labels.group === EVENT_LOG_GROUP).reduce((sum, c) => sum + c.value, 0);
      };
      for (let i = 0; i < 250 && (await Promise.all(nodes.map((n) => handled(n.metrics)))).some((count) => count < 1); i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(await Promise.all(nodes.map((n) => handled(n.metrics))), [1, 1], 'both nodes handled the event');
      assert.equal((await logged()).length, 1);
    } finally {
      await Promise.all(nodes.map(async (n) => (await n.eventLog.close(), await n.bus.close())));
      await redis.close();
    }
  });
  test('logs an event published before its consumer group ever joined (a fresh cluster)', async () => {
    const log = createLogger({ level: 'silent' });
    const redis = createRedis(TEST_REDIS_URL, log);
    if (!redis.isUp()) await once(redis.client, 'ready');
    // A topic and a group of this test's own, as on a fresh cluster (the shared topic holds the whole run's events).
    const topic = `fresh-${randomUUID()}`;
    const admin = new Kafka({ brokers: TEST_KAFKA_BROKERS, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const bus = createKafkaEventBus({ brokers: TEST_KAFKA_BROKERS, clientId: topic, log });
    const event = cloudEvent({ source: '/test', type: 'test.early', partitionkey: 'p', data: { n: 1 } });
    // Relayed to Kafka before any writer of this group has joined.
    await bus.publish([event], { topic });
    const eventLog = await createEventLog({ bus, streams: createRedisStreamStore(redis), log, metrics: createMetrics(), group: topic, topic });
    const seen: string[] = [];
    const untail = eventLog.tail((entry) => void (entry.event.id === event.id && seen.push(entry.position)));
    try {
      for (let i = 0; i < 500 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(seen.length, 1, 'the early event reached the log');
    } finally {
      untail();
      await eventLog.close();
      await bus.close();
      await redis.close();
    }
  });
});

describe('the event stream under load and at shutdown', () => {
  const OTHER = 'other-key-events-0123456789';
  let limited: TestGateway;
  before(async () => {
    limited = await startTestGateway({
      OMNIGATE_API_KEYS: `test:${API_KEY},other:${OTHER}`,
      OMNIGATE_SSE_MAX_PER_KEY: '2',
      OMNIGATE_SSE_MAX_BUFFER_BYTES: String(64 * 1024),
      // How long a paused stream's client may read nothing before it is dropped.
      OMNIGATE_SSE_HEARTBEAT_MS: '1000',
      // Long on purpose: stop() must not need it while a stream is open.
      OMNIGATE_SHUTDOWN_GRACE_MS: '60000',
    });
  });
  after(() => limited.stop());
  const publish = (type: string, data: unknown) => limited.events.publish([cloudEvent({ source: '/test', type, subject: 's', partitionkey: 'p', data })]);

  test('treats an empty Last-Event-ID header as none, and refuses a malformed one with 400', async () => {
    const stream = readSse(await limited.api('/v1/events/stream?type=test.empty_header', { headers: { 'last-event-id': '' } }));
    try {
      await publish('test.empty_header', { n: 1 });
      const message = await stream.next((m) => m.event === 'test.empty_header');
      assert.equal((JSON.parse(message.data) as { data: { n: number } }).data.n, 1);
    } finally {
      await stream.close();
    }
    const refused = await limited.api('/v1/events/stream', { headers: { 'last-event-id': 'not-a-position' } });
    assert.equal(refused.status, 400);
    assert.equal((await assertMatchesSpec(refused, 'streamEvents')).code, 'VALIDATION_FAILED');
  });

  test('sends every message as the spec describes it: id, event and a CloudEvent as data', async () => {
    const stream = readSse(await limited.api('/v1/events/stream?type=test.described'));
    try {
      await publish('test.described', { n: 1 });
      const message = await stream.next((m) => m.event === 'test.described');
      assertSseMessageMatchesSpec(message);
    } finally {
      await stream.close();
    }
  });

  test("refuses a key's stream past its cap with 429 STREAM_LIMIT_REACHED, and not another key's", async () => {
    const open = [readSse(await limited.api('/v1/events/stream')), readSse(await limited.api('/v1/events/stream'))];
    try {
      const refused = await limited.api('/v1/events/stream');
      assert.equal(refused.status, 429);
      assert.equal((await assertMatchesSpec(refused, 'streamEvents')).code, 'STREAM_LIMIT_REACHED');
      const other = await limited.api('/v1/events/stream', { headers: { 'x-api-key': OTHER } });
      assert.equal(other.status, 200);
      await other.body?.cancel();
      await open.shift()?.close();
      // The slot frees once the gateway has seen the client leave.
      let again = await limited.api('/v1/events/stream');
      for (let i = 0; i < 100 && again.status === 429; i++) {
        await again.body?.cancel();
        await new Promise((r) => setTimeout(r, 20));
        again = await limited.api('/v1/events/stream');
      }
      assert.equal(again.status, 200);
      await again.body?.cancel();
    } finally {
      await Promise.all(open.map((s) => s.close()));
    }
  });

  test('pauses a client that does not read at the bound and drops it, and keeps serving one that reads', async () => {
    const port = Number(new URL(limited.url).port);
    const stalled = connect({ host: '127.0.0.1', port });
    await once(stalled, 'connect');
    stalled.write(`GET /v1/events/stream?type=test.bulk HTTP/1.1\r\nhost: 127.0.0.1\r\nx-api-key: ${OTHER}\r\n\r\n`);
    stalled.on('error', () => undefined);
    // Its stream is open (the head read), and from here on it reads nothing.
    const head = String(await new Promise<Buffer>((resolve) => stalled.once('data', resolve)));
    stalled.pause();
    assert.match(head, /^HTTP\/1\.1 200 /, `the stalled client's stream did not open: ${head.slice(0, 200)}`);
    const reading = readSse(await limited.api('/v1/events/stream?type=test.bulk'));
    const pad = 'x'.repeat(32 * 1024);
    try {
      let sent = 0;
      // At most 32 MB: far past the kernel's socket buffers and the 64 KiB bound.
      while (isEstablished(stalled.localPort as number, port) && sent < 1_000) {
        for (let i = 0; i < 20; i++) await publish('test.bulk', { n: ++sent, pad });
        const last = sent;
        await reading.next((m) => (JSON.parse(m.data) as { data: { n: number } }).data.n === last);
      }
      // Paused at the bound, it is dropped once it has read nothing for a heartbeat interval.
      for (let i = 0; i < 200 && isEstablished(stalled.localPort as number, port); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(!isEstablished(stalled.localPort as number, port), `the stalled client is still connected after ${sent} events of 32 KiB`);
      assert.equal(reading.messages.length, sent, 'the reading client got every event');
      assert.match(await (await limited.api('/metrics')).text(), /omnigate_sse_dropped_total 1\b/);
    } finally {
      stalled.destroy();
      await reading.close();
    }
  });

  test('says reset instead of replaying when Last-Event-ID is older than the log keeps', async () => {
    const live = readSse(await limited.api('/v1/events/stream?type=test.retention'));
    const ids: string[] = [];
    try {
      for (const n of [1, 2, 3]) {
        await publish('test.retention', { n });
        ids.push((await live.next((m) => (JSON.parse(m.data) as { data: { n: number } }).data.n === n)).id ?? '');
      }
    } finally {
      await live.close();
    }
    const [first, , third] = ids as [string, string, string];
    const redis = new Redis(TEST_REDIS_URL);
    try {
      // Retention passes: the log keeps only the third event and what came after it.
      await redis.xtrim(EVENT_LOG_KEY, 'MINID', third);
    } finally {
      redis.disconnect();
    }
    const missed = readSse(await limited.api('/v1/events/stream?type=test.retention', { headers: { 'last-event-id': first } }));
    try {
      const reset = await missed.next(() => true);
      assert.equal(reset.event, 'reset');
      assertSseMessageMatchesSpec(reset);
      assert.ok(missed.messages.every((m) => m.event !== 'test.retention'), 'nothing is replayed after a reset');
    } finally {
      await missed.close();
    }
    // 0-0 asks for the whole log: once retention has dropped events, that is a reset too.
    const whole = readSse(await limited.api('/v1/events/stream?type=test.retention', { headers: { 'last-event-id': '0-0' } }));
    try {
      assert.equal((await whole.next(() => true)).event, 'reset');
    } finally {
      await whole.close();
    }
    // From a position the log still holds, nothing was missed: no reset, live events follow.
    const kept = readSse(await limited.api(`/v1/events/stream?type=test.retention&lastEventId=${third}`));
    try {
      await publish('test.retention', { n: 4 });
      const next = await kept.next(() => true);
      assert.deepEqual([next.event, (JSON.parse(next.data) as { data: { n: number } }).data.n], ['test.retention', 4]);
    } finally {
      await kept.close();
    }
  });

  test('ends every stream with event: shutdown when the gateway stops, without waiting out the grace period', async () => {
    const idle = readSse(await limited.api('/v1/events/stream?type=nothing.happens'));
    await limited.stop();
    const shutdown = await idle.next((m) => m.event === 'shutdown');
    assertSseMessageMatchesSpec(shutdown);
    await idle.ended;
    assert.ok(!limited.logs.some((l) => l.msg === 'grace period over: closing remaining connections'), 'stop() did not wait out the grace period');
  });
});
