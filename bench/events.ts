// Events end to end, in one run:
//  1. events/s from publish (into the Redis outbox) to a Kafka consumer, the outbox relaying in
//     batches of 100 against batches of 1;
//  2. latency from publish to an SSE subscriber (outbox → Kafka → event log → SSE), p50/p99,
//     against a plain kafkajs produce → consume in the same run as the baseline.
// Usage: node bench/events.ts [events=20000]   (~1 min; everything on loopback, stopped at the end)
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { startKafka } from '../scripts/lib/kafka.ts';
import { startRedisPair } from '../scripts/lib/redis.ts';
import { EVENTS_TOPIC } from '../src/adapters/kafka/kafka-event-bus.ts';
import { loadConfig } from '../src/config/config.ts';
import { cloudEvent } from '../src/kernel/events.ts';
import { startGateway, type Gateway } from '../src/gateway.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const total = Number(process.argv[2] ?? 20_000);
const samples = 500;
const dir = join(root, '.data', `bench-events-${process.pid}`);
mkdirSync(join(dir, 'connectors'), { recursive: true });
const log = pino({ level: 'silent' });
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

const kafka = await startKafka({ port: 27092, controllerPort: 27093, dir: join(dir, 'kafka'), rootDir: root });
const redis = await startRedisPair({ port: 27479, cachePort: 27480, dir: join(dir, 'redis') });
const client = new Kafka({ clientId: 'bench', brokers: kafka.brokers, logLevel: logLevel.NOTHING });
const running: Gateway[] = [];

async function gateway(batch: number): Promise<Gateway> {
  const config = loadConfig({
    PORT: '0', OMNIGATE_API_KEYS: 'bench:bench-key-0123456789abcdef', ...redis.env, KAFKA_BROKERS: kafka.brokers.join(','),
    NODE_ID: `bench-${batch}-${randomUUID().slice(0, 8)}`, OMNIGATE_OUTBOX_BATCH: String(batch), OMNIGATE_CONNECTORS_DIR: join(dir, 'connectors'),
    OMNIGATE_RATE_LIMIT_PER_KEY: '100000000', LOG_LEVEL: 'silent',
  }, root);
  const gw = await startGateway(config, log, root);
  running.push(gw);
  return gw;
}

/** A consumer of the events topic, from now on, counting events of one run. */
async function counter(run: string) {
  const consumer = client.consumer({ groupId: `bench-${run}` });
  await consumer.connect();
  await consumer.subscribe({ topic: EVENTS_TOPIC, fromBeginning: false });
  let count = 0;
  let joined!: () => void;
  const ready = new Promise<void>((r) => (joined = r));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.run({ eachBatch: async ({ batch }) => void (count += batch.messages.filter((m) => m.value?.includes(run)).length) });
  await ready;
  return { count: () => count, close: () => consumer.disconnect() };
}

async function throughput(batch: number) {
  const gw = await gateway(batch);
  const run = randomUUID();
  const seen = await counter(run);
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    // As requests publish: one event per call, keyed over 50 aggregates.
    await gw.events.publish([cloudEvent({ source: '/bench', type: 'bench.counted', subject: `k${i % 50}`, partitionkey: `k${i % 50}`, data: { run, i } })]);
  }
  const published = performance.now() - started;
  while (seen.count() < total) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - started) / 1000;
  await seen.close();
  // Stopped before the next gateway starts: live nodes share the outbox buckets, so a gateway
  // still running would relay part of the next measurement with its own batch size.
  await gw.stop();
  running.splice(running.indexOf(gw), 1);
  return { batch, events: total, publishMsPerEvent: published / total, endToEndPerSec: Math.round(total / seconds) };
}

async function sseLatency() {
  const gw = await gateway(100);
  const res = await fetch(`${gw.url}/v1/events/stream?type=bench.timed`, { headers: { 'x-api-key': 'bench-key-0123456789abcdef' } });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const latencies: number[] = [];
  let buffer = '';
  const reading = (async () => {
    while (latencies.length < samples) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
        const data = buffer.slice(0, cut).split('\n').find((l) => l.startsWith('data: '));
        buffer = buffer.slice(cut + 2);
        if (data) latencies.push(performance.now() - (JSON.parse(data.slice(6)) as { data: { at: number } }).data.at);
      }
    }
  })();
  await new Promise((r) => setTimeout(r, 1_000));
  for (let i = 0; i < samples; i++) {
    await gw.events.publish([cloudEvent({ source: '/bench', type: 'bench.timed', subject: 'timed', partitionkey: `t${i % 10}`, data: { at: performance.now() } })]);
    await new Promise((r) => setTimeout(r, 10));
  }
  await reading;
  await reader.cancel();
  return latencies;
}

/** The baseline: kafkajs produce → consume on the same broker, nothing of ours in between. */
async function kafkaLatency() {
  const topic = `bench-direct-${randomUUID().slice(0, 8)}`;
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const consumer = client.consumer({ groupId: `bench-direct-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const latencies: number[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void latencies.push(performance.now() - Number(message.value?.toString())) });
  await new Promise((r) => setTimeout(r, 3_000));
  for (let i = 0; i < samples; i++) {
    await producer.send({ topic, acks: -1, messages: [{ key: `t${i % 10}`, value: String(performance.now()) }] });
    await new Promise((r) => setTimeout(r, 10));
  }
  while (latencies.length < samples) await new Promise((r) => setTimeout(r, 20));
  await Promise.all([producer.disconnect(), consumer.disconnect()]);
  return latencies;
}

try {
  const unbatched = await throughput(1);
  const batched = await throughput(100);
  const direct = await kafkaLatency();
  const sse = await sseLatency();
  const result = {
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    throughput: { unbatched, batched, ratio: Number((batched.endToEndPerSec / unbatched.endToEndPerSec).toFixed(2)) },
    latencyMs: {
      kafkaDirect: { p50: percentile(direct, 50), p99: percentile(direct, 99) },
      publishToSse: { p50: percentile(sse, 50), p99: percentile(sse, 99) },
    },
  };
  console.table([
    { measure: 'events/s end to end, outbox batch 1', value: unbatched.endToEndPerSec },
    { measure: 'events/s end to end, outbox batch 100', value: batched.endToEndPerSec },
    { measure: 'ratio batched/unbatched', value: result.throughput.ratio },
    { measure: 'kafkajs produce→consume p50 / p99 ms (baseline)', value: `${result.latencyMs.kafkaDirect.p50.toFixed(1)} / ${result.latencyMs.kafkaDirect.p99.toFixed(1)}` },
    { measure: 'publish→SSE p50 / p99 ms', value: `${result.latencyMs.publishToSse.p50.toFixed(1)} / ${result.latencyMs.publishToSse.p99.toFixed(1)}` },
  ]);
  writeFileSync(join(root, '.data', 'bench-events.json'), JSON.stringify(result, null, 2));
} finally {
  for (const gw of running) await gw.stop();
  await Promise.all([kafka.stop(), redis.stop()]);
  rmSync(dir, { recursive: true, force: true });
}
