import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners, type Admin } from 'kafkajs';
import { startKafka, type RunningKafka } from '../../scripts/lib/kafka.ts';
import { port } from '../support/ports.ts';

// The project's own broker (scripts/lib/kafka.ts): real Kafka 3.9, KRaft, one node. This file
// starts its own on private ports and data dir, so it needs no global setup.
const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DIR = join(ROOT_DIR, `.data/test-kafka-${process.pid}`);
const TOPIC = 'customer-events';
const GROUP = 'kafka-broker-test';
const KEYS = Array.from({ length: 10 }, (_, i) => `customer-${i}`);
const COUNT = 100;

let broker: RunningKafka | undefined;
// kafkajs logs the broker's retriable answers (a coordinator still loading) at ERROR; the
// assertions say what went wrong, so the clients stay quiet.
const client = (): Kafka => new Kafka({ clientId: 'kafka-broker-test', brokers: broker?.brokers ?? [], logLevel: logLevel.NOTHING });
/** A client that fails at once, silently, when the broker is down. */
const probe = (): Kafka => new Kafka({ clientId: 'kafka-broker-test', brokers: broker?.brokers ?? [], logLevel: logLevel.NOTHING, connectionTimeout: 1_000, retry: { retries: 0 } });

/** Runs `fn` with a connected admin client, and disconnects it. */
async function withAdmin<T>(fn: (admin: Admin) => Promise<T>, kafka = client()): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Repeats `read` while the broker answers a retriable error (a leader not elected yet), for up to 30 s. */
async function untilLeaders<T>(read: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await read();
    } catch (err) {
      if (!(err as { retriable?: boolean }).retriable || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

interface Received {
  key: string;
  seq: number;
  partition: number;
}

/** Consumes with `groupId` until `count` messages arrived (or 20 s passed), then leaves the group. */
async function consume(groupId: string, count: number): Promise<Received[]> {
  const consumer = client().consumer({ groupId });
  const received: Received[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    const { promise: done, resolve: finish } = Promise.withResolvers<void>();
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const value = JSON.parse(message.value?.toString() ?? 'null') as { seq: number };
        received.push({ key: message.key?.toString() ?? '', seq: value.seq, partition });
        if (received.length >= count) finish();
      },
    });
    const timer = setTimeout(finish, 20_000);
    await done;
    clearTimeout(timer);
  } finally {
    // disconnect commits the offsets of every message handled
    await consumer.disconnect();
  }
  return received;
}

async function committedTotal(groupId: string): Promise<number> {
  const [topic] = await withAdmin((admin) => admin.fetchOffsets({ groupId, topics: [TOPIC] }));
  return (topic?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

describe('the project Kafka broker (KRaft, single node)', { timeout: 90_000 }, () => {
  before(async () => {
    rmSync(DIR, { recursive: true, force: true });
    broker = await startKafka({ port: port(19292), controllerPort: port(19293), dir: DIR, rootDir: ROOT_DIR });
  });

  after(async () => {
    await broker?.stop();
    rmSync(DIR, { recursive: true, force: true });
  });

  test('takes 100 keyed messages on a 3-partition topic and a consumer group reads every key in the order it was produced', async () => {
    assert.deepEqual(broker?.brokers, [`127.0.0.1:${port(19292)}`]);
    const created = await withAdmin((admin) => admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true }));
    assert.equal(created, true);
    const metadata = await withAdmin((admin) => admin.fetchTopicMetadata({ topics: [TOPIC] }));
    assert.equal(metadata.topics[0]?.partitions.length, 3);

    const producer = client().producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    await producer.connect();
    try {
      for (let seq = 0; seq < COUNT; seq += 10) {
        const batch = Array.from({ length: 10 }, (_, i) => ({ key: KEYS[(seq + i) % KEYS.length] ?? '', value: JSON.stringify({ seq: seq + i }) }));
        await producer.send({ topic: TOPIC, acks: -1, messages: batch });
      }
    } finally {
      await producer.disconnect();
    }

    const received = await consume(GROUP, COUNT);
    assert.equal(received.length, COUNT);
    assert.deepEqual(new Set(received.map((r) => r.seq)).size, COUNT, 'each message once');
    for (const key of KEYS) {
      const seqs = received.filter((r) => r.key === key).map((r) => r.seq);
      assert.equal(seqs.length, COUNT / KEYS.length);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${key} arrives in produced order`);
      assert.equal(new Set(received.filter((r) => r.key === key).map((r) => r.partition)).size, 1, `${key} stays on one partition`);
    }
    assert.ok(new Set(received.map((r) => r.partition)).size > 1, 'the keys spread over the partitions');
    assert.equal(await committedTotal(GROUP), COUNT, 'the group committed all it read');
  });

  test('keeps the topic, its messages and the group offsets across a stop and a start on the same data dir', async () => {
    assert.ok(broker);
    await broker.stop();
    await assert.rejects(withAdmin((admin) => admin.listTopics(), probe()), 'the broker is down');
    await broker.start();

    assert.ok((await withAdmin((admin) => admin.listTopics())).includes(TOPIC));
    // Right after a start the broker may still be electing the partitions' leader; wait for that.
    const offsets = await withAdmin((admin) => untilLeaders(() => admin.fetchTopicOffsets(TOPIC)));
    assert.equal(offsets.length, 3);
    assert.equal(offsets.reduce((sum, p) => sum + Number(p.high), 0), COUNT, 'all messages are still in the log');
    assert.equal(await committedTotal(GROUP), COUNT, 'the committed offsets survived');

    // A new group reads the whole topic again; the old one resumes after its committed offsets.
    const again = await consume(`${GROUP}-after-restart`, COUNT);
    assert.deepEqual(again.map((r) => r.seq).sort((a, b) => a - b), Array.from({ length: COUNT }, (_, i) => i));
    const producer = client().producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: TOPIC, messages: [{ key: 'customer-0', value: JSON.stringify({ seq: COUNT }) }] });
    await producer.disconnect();
    const resumed = await consume(GROUP, 1);
    assert.deepEqual(resumed.map((r) => r.seq), [COUNT], 'the old group gets only the new message');
  });
});
