// Events end to end, in one run:
//  1. events/s from publish (into the Redis outbox) to a Kafka consumer, the outbox relaying in
//     batches of 100 against batches of 1;
//  2. latency from publish to an SSE subscriber (outbox → Kafka → event log → SSE), p50/p99,
//     against a plain kafkajs produce → consume in the same run as the baseline.
//  3. sustained: a gateway in a process of its own publishes 1 KB events at a steady rate (default
//     20,000/s for 60 s) as request handlers do; an independent Kafka consumer and an SSE client
//     count them and time them from publish; the outbox depth is sampled every second. Baseline:
//     kafkajs alone producing and consuming the same events as fast as it can, in the same run.
//  4. the outbox across nodes (`--only=nodes`): publish → SSE paced 100/s on one of two gateways
//     that share the outbox buckets (half of the events relayed by the other node, woken by the
//     outbox bell), against one gateway alone in the same run; and the durable Redis's commands/s
//     while one gateway sits idle, with the relay's poll at its default against a 50 ms poll (the
//     relay before the bell polled every bucket every 50 ms).
// Usage: node bench/events.ts [events=20000] [--rate=20000] [--seconds=60] [--only=latency|sustained|nodes]
//   (~3 min; everything on loopback, stopped at the end)
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { startKafka } from '../scripts/lib/kafka.ts';
import { startRedisPair } from '../scripts/lib/redis.ts';
import { EVENTS_TOPIC } from '../src/adapters/kafka/kafka-event-bus.ts';
import { EVENT_LOG_GROUP } from '../src/modules/events/event-log.ts';
import { bucketKey, DEFAULT_OUTBOX_BUCKETS } from '../src/modules/events/outbox-buckets.ts';
import { WEBHOOK_GROUP } from '../src/modules/webhooks/webhooks.service.ts';
import { loadConfig } from '../src/config/config.ts';
import { cloudEvent } from '../src/kernel/events.ts';
import { startGateway, type Gateway } from '../src/gateway.ts';

import { EVENTS_BENCH_KEY, wallNow, type PublisherCommand, type PublisherReport } from './lib/event-bench.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const flags = new Map(process.argv.slice(2).filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=') as [string, string]));
const total = Number(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 20_000);
const sustainedRate = Number(flags.get('rate') ?? 20_000);
const sustainedSeconds = Number(flags.get('seconds') ?? 60);
const EVENT_BYTES = 1_024;
const samples = 500;
const dir = join(root, '.data', `bench-events-${process.pid}`);
mkdirSync(join(dir, 'connectors'), { recursive: true });
const log = pino({ level: 'silent' });
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

const kafka = await startKafka({ port: 27092, controllerPort: 27093, dir: join(dir, 'kafka'), rootDir: root });
// Room for what an overloaded relay leaves in the outbox (256 MB by default): past it Redis refuses
// appends (noeviction), emit() holds events in memory and then drops them, and the bench counts those.
const redis = await startRedisPair({ port: 27479, cachePort: 27480, dir: join(dir, 'redis'), durableMaxmemory: '4gb' });
const client = new Kafka({ clientId: 'bench', brokers: kafka.brokers, logLevel: logLevel.NOTHING });
const running: Gateway[] = [];

async function gateway(batch: number, settings: Record<string, string> = {}): Promise<Gateway> {
  const config = loadConfig({
    PORT: '0', OMNIGATE_API_KEYS: `bench:${EVENTS_BENCH_KEY}`, ...redis.env, KAFKA_BROKERS: kafka.brokers.join(','),
    NODE_ID: `bench-${batch}-${randomUUID().slice(0, 8)}`, OMNIGATE_OUTBOX_BATCH: String(batch), OMNIGATE_CONNECTORS_DIR: join(dir, 'connectors'),
    OMNIGATE_RATE_LIMIT_PER_KEY: '100000000', LOG_LEVEL: 'silent', ...settings,
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

/** Publish → SSE through `gw`, paced 100/s, keyed over 10 aggregates (several buckets). */
async function sseLatency(gw: Gateway, count = samples) {
  const res = await fetch(`${gw.url}/v1/events/stream?type=bench.timed`, { headers: { 'x-api-key': EVENTS_BENCH_KEY } });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const latencies: number[] = [];
  let buffer = '';
  const reading = (async () => {
    while (latencies.length < count) {
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
  for (let i = 0; i < count; i++) {
    await gw.events.publish([cloudEvent({ source: '/bench', type: 'bench.timed', subject: 'timed', partitionkey: `t${i % 10}`, data: { at: performance.now() } })]);
    await new Promise((r) => setTimeout(r, 10));
  }
  await reading;
  await reader.cancel();
  return latencies;
}

async function stop(gws: readonly Gateway[]): Promise<void> {
  for (const gw of gws) {
    await gw.stop();
    running.splice(running.indexOf(gw), 1);
  }
}

/** Until every outbox bucket is leased, and each of `gws` holds some. */
async function leasesSettled(gws: readonly Gateway[]): Promise<void> {
  const durable = new Redis(redis.env.REDIS_URL);
  try {
    const keys = Array.from({ length: DEFAULT_OUTBOX_BUCKETS }, (_, b) => `${bucketKey(b)}:lease`);
    for (let tries = 0; ; tries++) {
      const holders = await durable.mget(...keys);
      const byNode = gws.map((gw) => holders.filter((h) => h?.startsWith(`${gw.events.nodeId}#`)).length);
      if (holders.every((h) => h !== null) && byNode.every((n) => n > 0) && byNode.reduce((a, b) => a + b, 0) === keys.length) return;
      if (tries > 300) throw new Error(`the outbox leases did not settle: ${byNode.join(' / ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    durable.disconnect();
  }
}

/** The durable Redis's commands per second over `seconds`, by command, while nothing is asked of the gateway. */
async function idleCommands(seconds: number): Promise<Record<string, number>> {
  const durable = new Redis(redis.env.REDIS_URL);
  const calls = async () => new Map([...(await durable.info('commandstats')).matchAll(/^cmdstat_(\S+?):calls=(\d+)/gm)].map(([, name, n]) => [name as string, Number(n)]));
  try {
    const before = await calls();
    await new Promise((r) => setTimeout(r, seconds * 1_000));
    const after = await calls();
    const perSec = [...after].map(([name, n]) => [name, Math.round(((n - (before.get(name) ?? 0)) / seconds) * 10) / 10] as const).filter(([name, n]) => n > 0 && name !== 'info');
    return Object.fromEntries(perSec.sort((a, b) => b[1] - a[1]));
  } finally {
    durable.disconnect();
  }
}

/** 4.: one gateway alone, then two sharing the buckets; then one idle, with the default poll and with a 50 ms one. */
async function acrossNodes() {
  const one = [await gateway(100)];
  await leasesSettled(one);
  // The first gateway of the run meets cold topics and consumer groups: not what is measured.
  await sseLatency(one[0]!, 100);
  const alone = await sseLatency(one[0]!);
  await stop(one);
  const two = [await gateway(100), await gateway(100)];
  await leasesSettled(two);
  const shared = await sseLatency(two[0]!);
  await stop(two);
  const idle: Record<string, Record<string, number>> = {};
  for (const [name, settings] of [['poll 50 ms', { OMNIGATE_OUTBOX_POLL_MS: '50' }], ['default poll', {}]] as const) {
    const gw = await gateway(100, settings);
    await leasesSettled([gw]);
    await new Promise((r) => setTimeout(r, 2_000));
    idle[name] = await idleCommands(10);
    await stop([gw]);
  }
  return { alone, shared, idle };
}

/** For the baselines: a topic of their own (6 partitions, as the gateway's), a producer set as the gateway's and a consumer subscribed from its start. */
async function kafkaAlone(prefix: string) {
  const topic = `${prefix}-${randomUUID().slice(0, 8)}`;
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const consumer = client.consumer({ groupId: `${prefix}-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  return { topic, producer, consumer };
}

/** The baseline: kafkajs produce → consume on the same broker, nothing of ours in between. */
async function kafkaLatency() {
  const { topic, producer, consumer } = await kafkaAlone('bench-direct');
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

/** Reads an SSE stream, calling `onData` with each event's data line. */
async function readSse(url: string, onData: (data: string) => void, signal: AbortSignal): Promise<void> {
  const res = await fetch(url, { headers: { 'x-api-key': EVENTS_BENCH_KEY }, signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let start = 0;
      for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n', start)) {
        const at = buffer.indexOf('\ndata: ', start);
        if (at >= 0 && at < cut) onData(buffer.slice(at + 7, cut));
        start = cut + 2;
      }
      buffer = buffer.slice(start);
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
}

const AT = /"at":([\d.]+)/;

/**
 * 3. A steady rate for a while: a gateway of its own (its own process, as in production) publishes;
 * this process consumes from Kafka (a group of its own) and from the SSE stream, and times each
 * event from its publish.
 */
async function sustained(rate: number, seconds: number) {
  const run = randomUUID();
  const child = fork(join(root, 'bench', 'lib', 'event-publisher.ts'), [], {
    env: { ...process.env, ...redis.env, KAFKA_BROKERS: kafka.brokers.join(','), OMNIGATE_API_KEYS: `bench:${EVENTS_BENCH_KEY}`, NODE_ID: `bench-sustained-${run.slice(0, 8)}`, OMNIGATE_CONNECTORS_DIR: join(dir, 'connectors'), OMNIGATE_RATE_LIMIT_PER_KEY: '100000000' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // BENCH_PROFILE=1: the publishing gateway's CPU profile, in .data/bench-profile/ as the other benches write theirs.
    execArgv: process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${join(root, '.data', 'bench-profile')}`] : [],
  });
  const reports: PublisherReport[] = [];
  let wake: (() => void) | undefined;
  child.on('message', (m: PublisherReport) => (reports.push(m), wake?.()));
  /** The next report that is one of `keys`, in the order they came. */
  const next = async (...keys: string[]): Promise<PublisherReport> => {
    for (;;) {
      const at = reports.findIndex((r) => keys.some((k) => k in r));
      if (at >= 0) return reports.splice(at, 1)[0]!;
      if (child.exitCode !== null) throw new Error(`the publisher exited (${child.exitCode})`);
      await new Promise<void>((r) => ((wake = r), setTimeout(r, 500)));
    }
  };
  const command = (c: PublisherCommand) => child.send(c);
  const { ready } = (await next('ready')) as Extract<PublisherReport, { ready: unknown }>;
  try {
    const kafkaMs: number[] = [];
    const sseMs: number[] = [];
    let lastKafka = 0;
    let lastSse = 0;
    const consumer = client.consumer({ groupId: `bench-sustained-${run}`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: EVENTS_TOPIC, fromBeginning: false });
    const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()));
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const now = wallNow();
        for (const m of batch.messages) {
          const value = m.value?.toString() ?? '';
          if (!value.includes(run)) continue;
          kafkaMs.push(now - Number(AT.exec(value)?.[1]));
          lastKafka = now;
        }
      },
    });
    await joined;
    const stopSse = new AbortController();
    const sse = readSse(`${ready.url}/v1/events/stream?type=bench.sustained`, (data) => {
      if (!data.includes(run)) return;
      const now = wallNow();
      sseMs.push(now - Number(AT.exec(data)?.[1]));
      lastSse = now;
    }, stopSse.signal);
    await new Promise((r) => setTimeout(r, 1_000));
    const started = wallNow();
    command({ start: { rate, seconds, run, bytes: EVENT_BYTES } });
    const depths: number[] = [];
    // The gateway's own consumer groups on the events topic: how far behind the end they are (by Kafka's offsets).
    const admin = client.admin();
    await admin.connect();
    const lagOf = async (group: string) => {
      const ends = new Map((await admin.fetchTopicOffsets(EVENTS_TOPIC)).map((p) => [p.partition, Number(p.offset)]));
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [EVENTS_TOPIC] });
      return (committed?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, (ends.get(p.partition) ?? 0) - Math.max(0, Number(p.offset))), 0);
    };
    const lags: Record<string, number[]> = { [EVENT_LOG_GROUP]: [], [WEBHOOK_GROUP]: [] };
    const perSecond: { published: number; kafka: number; sse: number; depth: number; lag: Record<string, number> }[] = [];
    let done: Extract<PublisherReport, { done: unknown }>['done'] | undefined;
    let before = { published: 0, kafka: 0, sse: 0 };
    while (!done) {
      const report = await next('tick', 'done');
      if ('done' in report) done = report.done;
      else if ('tick' in report) {
        depths.push(report.tick.depth);
        const now = { published: report.tick.published, kafka: kafkaMs.length, sse: sseMs.length };
        const lagNow = Object.fromEntries(await Promise.all(Object.keys(lags).map(async (g) => [g, await lagOf(g)] as const)));
        for (const [g, n] of Object.entries(lagNow)) lags[g]?.push(n);
        perSecond.push({ published: now.published - before.published, kafka: now.kafka - before.kafka, sse: now.sse - before.sse, depth: report.tick.depth, lag: lagNow });
        before = now;
      }
    }
    // Whatever is on its way still arrives (bounded).
    const waitUntil = wallNow() + 30_000;
    while ((kafkaMs.length < done.published || sseMs.length < done.published) && wallNow() < waitUntil) await new Promise((r) => setTimeout(r, 50));
    const lagAfterDrain = Object.fromEntries(await Promise.all(Object.keys(lags).map(async (g) => [g, await lagOf(g)] as const)));
    await admin.disconnect();
    stopSse.abort();
    await sse;
    await consumer.disconnect();
    const rateOf = (count: number, last: number) => Math.round(count / ((last - started) / 1_000));
    return {
      offered: rate,
      seconds,
      eventBytes: EVENT_BYTES,
      published: done.published,
      // Events emit() could not store (Redis refused them and the memory buffer was full): lost, and not expected at any rate.
      dropped: done.dropped,
      publishedPerSec: Math.round(done.published / seconds),
      kafka: { received: kafkaMs.length, perSec: rateOf(kafkaMs.length, lastKafka), p50: percentile(kafkaMs, 50), p99: percentile(kafkaMs, 99) },
      sse: { received: sseMs.length, perSec: rateOf(sseMs.length, lastSse), p50: percentile(sseMs, 50), p99: percentile(sseMs, 99) },
      outboxDepth: { max: Math.max(0, ...depths), atStop: depths.at(-1) ?? 0, drainedMsAfterStop: done.drainedMs },
      // The publishing gateway's CPU from the first publish until its outbox was empty, per event: what other load on the box does not move.
      consumerLag: Object.fromEntries(Object.entries(lags).map(([g, ns]) => [g, { max: Math.max(0, ...ns), afterDrain: lagAfterDrain[g] }])),
      gatewayCpuUsPerEvent: Math.round((done.cpuMs * 1_000) / done.published),
      perSecond,
    };
  } finally {
    command({ stop: true });
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  }
}

/** The baseline of 3.: kafkajs alone, the same 1 KB events, sends of 1,600 (one relay round) one after another, for `seconds`. */
async function kafkaThroughput(seconds: number) {
  const { topic, producer, consumer } = await kafkaAlone('bench-rate');
  let received = 0;
  let last = 0;
  await consumer.run({ eachBatch: async ({ batch }) => void ((received += batch.messages.length), (last = wallNow())) });
  await new Promise((r) => setTimeout(r, 2_000));
  const value = JSON.stringify(cloudEvent({ source: '/bench', type: 'bench.rate', partitionkey: 'k', data: { pad: 'x'.repeat(EVENT_BYTES - 230) } }));
  const started = wallNow();
  let sent = 0;
  while (wallNow() - started < seconds * 1_000) {
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 1_600 }, (_, i) => ({ key: `k${i % 50}`, value })) });
    sent += 1_600;
  }
  const waitUntil = wallNow() + 30_000;
  while (received < sent && wallNow() < waitUntil) await new Promise((r) => setTimeout(r, 50));
  await Promise.all([producer.disconnect(), consumer.disconnect()]);
  return { sent, perSec: Math.round(received / ((last - started) / 1_000)) };
}

const only = flags.get('only');
const ms = (x: { p50: number; p99: number }) => `${x.p50.toFixed(1)} / ${x.p99.toFixed(1)}`;
try {
  const rows: { measure: string; value: string | number }[] = [];
  const result: Record<string, unknown> = { machine: { cpus: (await import('node:os')).cpus().length, node: process.version } };
  if (only === undefined || only === 'latency') {
    const unbatched = await throughput(1);
    const batched = await throughput(100);
    const direct = await kafkaLatency();
    const latencyGateway = await gateway(100);
    const sse = await sseLatency(latencyGateway);
    await stop([latencyGateway]);
    const latencyMs = { kafkaDirect: { p50: percentile(direct, 50), p99: percentile(direct, 99) }, publishToSse: { p50: percentile(sse, 50), p99: percentile(sse, 99) } };
    Object.assign(result, { throughput: { unbatched, batched, ratio: Number((batched.endToEndPerSec / unbatched.endToEndPerSec).toFixed(2)) }, latencyMs });
    rows.push(
      { measure: 'events/s end to end, outbox batch 1, one publish at a time', value: unbatched.endToEndPerSec },
      { measure: 'events/s end to end, outbox batch 100, one publish at a time', value: batched.endToEndPerSec },
      { measure: 'ratio batched/unbatched', value: (batched.endToEndPerSec / unbatched.endToEndPerSec).toFixed(2) },
      { measure: 'kafkajs produce→consume p50 / p99 ms (baseline)', value: ms(latencyMs.kafkaDirect) },
      { measure: 'publish→SSE p50 / p99 ms, paced 100/s', value: ms(latencyMs.publishToSse) },
    );
  }
  if (only === undefined || only === 'nodes') {
    const { alone, shared, idle } = await acrossNodes();
    const of = (xs: number[]) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99), max: Math.max(...xs) });
    Object.assign(result, { nodes: { aloneMs: of(alone), twoNodesMs: of(shared), idleCommandsPerSec: idle } });
    const sum = (stats: Record<string, number> | undefined) => Object.values(stats ?? {}).reduce((a, b) => a + b, 0).toFixed(0);
    rows.push(
      { measure: 'publish→SSE p50 / p99 ms, one gateway (baseline), paced 100/s', value: ms(of(alone)) },
      { measure: 'publish→SSE p50 / p99 ms, on one of two gateways sharing the buckets', value: ms(of(shared)) },
      { measure: 'ratio two / one, p99', value: (of(shared).p99 / of(alone).p99).toFixed(2) },
      { measure: 'slowest of 500, one / two gateways, ms', value: `${of(alone).max.toFixed(1)} / ${of(shared).max.toFixed(1)}` },
      ...Object.entries(idle).map(([name, stats]) => ({ measure: `durable Redis commands/s, one idle gateway, ${name}`, value: `${sum(stats)} (${Object.entries(stats).slice(0, 4).map(([c, n]) => `${c} ${n}`).join(', ')})` })),
    );
  }
  if (only === undefined || only === 'sustained') {
    const baseline = await kafkaThroughput(10);
    const steady = await sustained(sustainedRate, sustainedSeconds);
    Object.assign(result, { sustained: { ...steady, kafkaAlonePerSec: baseline.perSec } });
    const lows = steady.perSecond.slice(2, -1);
    rows.push(
      { measure: 'kafkajs alone, 1 KB events/s (baseline)', value: baseline.perSec },
      { measure: `offered events/s, for ${steady.seconds} s`, value: steady.offered },
      { measure: 'published events/s (publish() resolved) / dropped', value: `${steady.publishedPerSec} / ${steady.dropped}` },
      { measure: 'events/s at a Kafka consumer / ratio to kafkajs alone', value: `${steady.kafka.perSec} / ${(steady.kafka.perSec / baseline.perSec).toFixed(2)}` },
      { measure: 'events/s at an SSE client', value: steady.sse.perSec },
      { measure: 'slowest second at the SSE client (after the first 2)', value: lows.length > 0 ? Math.min(...lows.map((s) => s.sse)) : '- (run too short)' },
      { measure: 'publish→Kafka consumer p50 / p99 ms', value: ms(steady.kafka) },
      { measure: 'publish→SSE p50 / p99 ms', value: ms(steady.sse) },
      { measure: 'gateway CPU µs per event (publish, relay, event log, SSE)', value: steady.gatewayCpuUsPerEvent },
      ...Object.entries(steady.consumerLag).map(([g, l]) => ({ measure: `gateway group ${g}: lag max / after`, value: `${l.max} / ${l.afterDrain}` })),
      { measure: 'outbox depth max / at stop; ms to drain after', value: `${steady.outboxDepth.max} / ${steady.outboxDepth.atStop}; ${steady.outboxDepth.drainedMsAfterStop}` },
    );
  }
  console.table(rows);
  writeFileSync(join(root, '.data', 'bench-events.json'), JSON.stringify(result, null, 2));
} finally {
  for (const gw of running) await gw.stop();
  await Promise.all([kafka.stop(), redis.stop()]);
  rmSync(dir, { recursive: true, force: true });
}
