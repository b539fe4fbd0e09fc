import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { startKafka } from '../../scripts/lib/kafka.ts';
import { createKafkaEventBus } from '../../src/adapters/kafka/kafka-event-bus.ts';
import { cloudEvent } from '../../src/kernel/events.ts';
import type { CloudEvent } from '../../src/ports/event-bus.ts';
import { ROOT_DIR, startTestGateway } from '../support/gateway.ts';
import { port, TEST_KAFKA_BROKERS, TEST_REDIS_URL } from '../support/ports.ts';

const OUTAGE_MS = Number(process.env.OMNIGATE_TEST_KAFKA_OUTAGE_MS ?? 30_000);
const KEYS = ['order-1', 'order-2', 'order-3', 'order-4', 'order-5'];

describe('nothing lost while Kafka is down', () => {
  test(`the broker stops for ${OUTAGE_MS / 1000} s under steady traffic: every event arrives exactly once (by id), in order per key, and requests never wait`, async () => {
    // A broker of its own: this test stops it.
    const dir = join(ROOT_DIR, `.data/kafka-outage-${process.pid}`);
    const kafka = await startKafka({ port: port(19192), controllerPort: port(19193), dir, rootDir: ROOT_DIR });
    const gw = await startTestGateway({ KAFKA_BROKERS: kafka.brokers.join(','), NODE_ID: `outage-${process.pid}` });
    const consumer = createKafkaEventBus({ brokers: kafka.brokers, clientId: 'outage-consumer', log: pino({ level: 'silent' }) });
    const received: CloudEvent[] = [];
    const sub = await consumer.subscribe(`outage-${process.pid}`, async (e) => void (e.type === 'test.counted' && received.push(e)), { fromBeginning: true });
    try {
      await sub.ready;
      let sent = 0;
      let stop = false;
      const slowest: number[] = [];
      const publishing = (async () => {
        while (!stop) {
          const key = KEYS[sent % KEYS.length] as string;
          const started = performance.now();
          await gw.events.publish([cloudEvent({ source: '/test', type: 'test.counted', subject: key, partitionkey: key, data: { key, n: Math.floor(sent / KEYS.length) } })]);
          slowest.push(performance.now() - started);
          sent += 1;
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const probing = (async () => {
        const latencies: number[] = [];
        while (!stop) {
          const started = performance.now();
          assert.equal((await gw.api('/v1/customers/1')).status, 200);
          latencies.push(performance.now() - started);
          await new Promise((r) => setTimeout(r, 100));
        }
        return latencies;
      })();

      await new Promise((r) => setTimeout(r, 2_000));
      await kafka.stop();
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      const waiting = await gw.events.outbox.depth();
      await kafka.start();
      await new Promise((r) => setTimeout(r, 2_000));
      stop = true;
      await publishing;
      const requestLatencies = await probing;

      const deadline = Date.now() + 60_000;
      const unique = () => new Map(received.map((e) => [e.id, e]));
      while (unique().size < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));

      assert.ok(waiting > 100, `only ${waiting} events waited in the outbox during the outage`);
      const byId = unique();
      assert.equal(byId.size, sent, `${sent} published, ${byId.size} distinct arrived`);
      // In order per key, counting each event at its first arrival.
      const firstSeen = new Set<string>();
      const perKey = new Map<string, number[]>();
      for (const event of received) {
        if (firstSeen.has(event.id)) continue;
        firstSeen.add(event.id);
        const { key, n } = event.data as { key: string; n: number };
        perKey.set(key, [...(perKey.get(key) ?? []), n]);
      }
      for (const key of KEYS) {
        const ns = perKey.get(key) ?? [];
        assert.deepEqual(ns, [...Array(ns.length).keys()], `order of ${key}`);
      }
      assert.ok(Math.max(...slowest) < 250, `publishing waited ${Math.max(...slowest).toFixed(0)} ms`);
      assert.ok(Math.max(...requestLatencies) < 1_000, `a request waited ${Math.max(...requestLatencies).toFixed(0)} ms`);
    } finally {
      await sub.close();
      await consumer.close();
      await gw.stop();
      await kafka.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('shutting down', () => {
  test('SIGTERM flushes the outbox: events published just before stop all reach Kafka', async () => {
    const run = `flush-${process.pid}-${Date.now()}`;
    const consumer = createKafkaEventBus({ brokers: TEST_KAFKA_BROKERS, clientId: 'flush-consumer', log: pino({ level: 'silent' }) });
    const received = new Set<string>();
    const sub = await consumer.subscribe(run, async (e) => void ((e.data as { run?: string }).run === run && received.add(e.id)));
    try {
      await sub.ready;
      const gw = await startTestGateway({ KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','), NODE_ID: run });
      const published = Array.from({ length: 300 }, (_, n) => cloudEvent({ source: '/test', type: 'test.flushed', subject: `k${n % 7}`, partitionkey: `k${n % 7}`, data: { run, n } }));
      for (const event of published) await gw.events.publish([event]);
      await gw.stop();
      for (let i = 0; i < 100 && received.size < published.length; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(received.size, published.length);
    } finally {
      await sub.close();
      await consumer.close();
    }
  });
});

describe('an event Kafka refuses', () => {
  test('is set aside in the outbox dead-letter stream, and the events behind it still go out', async () => {
    const run = `big-${process.pid}-${Date.now()}`;
    const consumer = createKafkaEventBus({ brokers: TEST_KAFKA_BROKERS, clientId: 'big-consumer', log: pino({ level: 'silent' }) });
    const received: number[] = [];
    const sub = await consumer.subscribe(run, async (e) => void ((e.data as { run?: string }).run === run && received.push((e.data as { n: number }).n)));
    const gw = await startTestGateway({ KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','), NODE_ID: run });
    try {
      await sub.ready;
      const event = (n: number, padding = '') => cloudEvent({ source: '/test', type: 'test.sized', subject: 'k', partitionkey: 'k', data: { run, n, padding } });
      await gw.events.publish([event(1), event(2, 'x'.repeat(2 * 1024 * 1024)), event(3)]);
      for (let i = 0; i < 100 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(received, [1, 3]);
      assert.equal(await gw.events.outbox.depth(), 0);
      const redis = new Redis(TEST_REDIS_URL);
      try {
        const dead = await redis.xrange(`omnigate:outbox:${run}:dead`, '-', '+');
        assert.equal(dead.length, 1);
        assert.ok(dead[0]?.[1].includes('too large for Kafka'));
      } finally {
        redis.disconnect();
      }
    } finally {
      await gw.stop();
      await sub.close();
      await consumer.close();
    }
  });
});
