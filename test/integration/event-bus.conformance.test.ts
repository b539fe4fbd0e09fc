import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { createKafkaEventBus } from '../../src/adapters/kafka/kafka-event-bus.ts';
import { createMemoryEventBus } from '../../src/adapters/memory/memory-event-bus.ts';
import { cloudEvent } from '../../src/kernel/events.ts';
import type { CloudEvent, EventBus } from '../../src/ports/event-bus.ts';
import { TEST_KAFKA_BROKERS } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

// One suite, run against every adapter of the EventBus port.
const adapters: Record<string, () => Promise<EventBus>> = {
  'in-process': async () => createMemoryEventBus({ retryDelayMs: 20 }),
  kafka: async () => {
    const bus = createKafkaEventBus({ brokers: TEST_KAFKA_BROKERS, clientId: `conformance-${randomUUID()}`, log: pino({ level: 'silent' }) });
    await bus.ensureTopics();
    return bus;
  },
};

const events = (run: string, keys: string[], perKey: number): CloudEvent[] =>
  Array.from({ length: perKey }, (_, n) => keys.map((key) => cloudEvent({ source: '/test', type: 'test.happened', subject: key, partitionkey: `${run}-${key}`, data: { run, key, n } }))).flat();

for (const [name, make] of Object.entries(adapters)) {
  describe(`EventBus conformance: ${name}`, () => {
    const open: { close(): Promise<void> }[] = [];
    after(async () => {
      for (const c of open.reverse()) await c.close();
    });

    test('delivers every event to a subscriber, in publish order per key', async () => {
      const bus = await make();
      open.push(bus);
      const run = randomUUID();
      const got: CloudEvent[] = [];
      const sub = await bus.subscribe(`g-${run}`, async (e) => void ((e.data as { run: string }).run === run && got.push(e)));
      open.push(sub);
      await sub.ready;
      const sent = events(run, ['a', 'b', 'c'], 20);
      await bus.publish(sent.slice(0, 30));
      await bus.publish(sent.slice(30));
      await waitFor('every event at the subscriber', () => got.length === sent.length);
      for (const key of ['a', 'b', 'c']) {
        const ns = got.filter((e) => e.subject === key).map((e) => (e.data as { n: number }).n);
        assert.deepEqual(ns, [...Array(20).keys()], `order of key ${key}`);
      }
    });

    test('every consumer group sees every event', async () => {
      const bus = await make();
      open.push(bus);
      const run = randomUUID();
      const seen = { one: 0, two: 0 };
      for (const group of ['one', 'two'] as const) {
        const sub = await bus.subscribe(`${group}-${run}`, async (e) => void ((e.data as { run: string }).run === run && seen[group]++));
        open.push(sub);
        await sub.ready;
      }
      await bus.publish(events(run, ['k'], 10));
      await waitFor('all ten events in each group', () => seen.one === 10 && seen.two === 10);
    });

    test('within one group, two members share the events: each is handled once', async () => {
      const bus = await make();
      open.push(bus);
      const run = randomUUID();
      const handled: string[] = [];
      for (let m = 0; m < 2; m++) {
        const sub = await bus.subscribe(`shared-${run}`, async (e) => void ((e.data as { run: string }).run === run && handled.push(e.id)));
        open.push(sub);
        await sub.ready;
      }
      const sent = events(run, ['a', 'b', 'c', 'd', 'e', 'f'], 5);
      await bus.publish(sent);
      await waitFor('every event handled', () => handled.length >= sent.length);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(handled.length, sent.length);
      assert.equal(new Set(handled).size, sent.length);
    });

    test('a new group sees the events published before it first joined', async () => {
      const bus = await make();
      open.push(bus);
      const run = randomUUID();
      const got: number[] = [];
      await bus.publish(events(run, ['early'], 3));
      const sub = await bus.subscribe(`late-${run}`, async (e) => void ((e.data as { run: string }).run === run && got.push((e.data as { n: number }).n)));
      open.push(sub);
      await sub.ready;
      await waitFor('the three earlier events at the new group', () => got.length === 3);
      assert.deepEqual(got, [0, 1, 2]);
    });

    test('a handler that throws gets the same event again, and order holds behind it', async () => {
      const bus = await make();
      open.push(bus);
      const run = randomUUID();
      const got: number[] = [];
      let failures = 0;
      const sub = await bus.subscribe(`retry-${run}`, async (e) => {
        const { run: r, n } = e.data as { run: string; n: number };
        if (r !== run) return;
        if (n === 1 && failures < 2) {
          failures += 1;
          throw new Error('not yet');
        }
        got.push(n);
      });
      open.push(sub);
      await sub.ready;
      await bus.publish(events(run, ['only'], 4));
      await waitFor('all four events, the failed one redelivered', () => got.length === 4);
      assert.deepEqual(got, [0, 1, 2, 3]);
      assert.equal(failures, 2);
    });

    test('a batch subscriber gets every event in order per key; a batch that throws comes again, whole', async () => {
      const bus = await make();
      open.push(bus);
      const run = randomUUID();
      const got: CloudEvent[] = [];
      const failed: string[] = [];
      const sub = await bus.subscribeBatches(`batches-${run}`, async (batch) => {
        const ours = batch.filter((e) => (e.data as { run: string }).run === run);
        // The first batch that holds an event of this run fails once: all of it must come again.
        if (failed.length === 0 && ours.length > 0) {
          failed.push(...ours.map((e) => e.id));
          throw new Error('not yet');
        }
        got.push(...ours);
      });
      open.push(sub);
      await sub.ready;
      const sent = events(run, ['a', 'b', 'c'], 30);
      await bus.publish(sent.slice(0, 45));
      await bus.publish(sent.slice(45));
      await waitFor('every event at the batch subscriber', () => new Set(got.map((e) => e.id)).size === sent.length);
      const ids = new Set(got.map((e) => e.id));
      assert.ok(failed.length > 0 && failed.every((id) => ids.has(id)), 'the failed batch came again');
      // At least once: an event may come twice; in order per key among the first time each came.
      for (const key of ['a', 'b', 'c']) {
        const firsts = got.filter((e, i) => e.subject === key && got.findIndex((f) => f.id === e.id) === i).map((e) => (e.data as { n: number }).n);
        assert.deepEqual(firsts, [...Array(30).keys()], `order of key ${key}`);
      }
    });
  });
}
