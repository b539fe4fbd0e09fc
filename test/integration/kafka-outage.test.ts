import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { connectorEnv } from '../../scripts/lib/backends.ts';
import { startRedis } from '../../scripts/lib/redis.ts';
import { createKafkaEventBus } from '../../src/adapters/kafka/kafka-event-bus.ts';
import { cloudEvent } from '../../src/kernel/events.ts';
import { bucketKey, outboxBucketOf } from '../../src/modules/events/outbox-buckets.ts';
import { API_KEY, ROOT_DIR, startTestGateway } from '../support/gateway.ts';
import { port, TEST_KAFKA_BROKERS, TEST_REDIS_CACHE_URL, TEST_REDIS_URL, TEST_URLS } from '../support/ports.ts';
import { assertMatchesSpec } from '../support/spec.ts';
import { waitFor } from '../support/wait.ts';

/** Outbox bucket leases in this file: a dead node's buckets move after this long. */
const LEASE_MS = 2_000;
/** Leases that cannot run out within a wait of the test. */
const LONG_LEASE_MS = 10_000;
const WEBHOOK_SECRET = 'tickets-webhook-secret';
/** Kafka consumer sessions in this file: a SIGKILLed node's partitions move to the others after this long. */
const SESSION_MS = 3_000;

/** A loopback port nobody listens on now, for a Redis of a test's own. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: free } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return free;
}

/** Posts one signed tickets-service webhook (delivery `id`, ticket `ticketId`) to a gateway. */
function postTicketWebhook(url: string, id: string, ticketId: string, status = 'open', subject = 'Lost parcel'): Promise<Response> {
  const now = Date.now();
  const ticket = { ticketId, requesterId: 'c-1', subject, status, priority: 'normal', createdAt: now, updatedAt: now };
  const body = JSON.stringify({ id, type: 'ticket.updated', occurredAt: now, ticket });
  const timestamp = String(now);
  const signature = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(`${timestamp}.${body}`).digest('hex')}`;
  return fetch(`${url}/v1/inbound/tickets-node`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-timestamp': timestamp, 'x-webhook-signature': signature }, body });
}

/** A whole gateway process on the given Redis and Kafka, as ops would run one of several. */
async function spawnGateway(env: Record<string, string>, httpPort: number): Promise<ChildProcess> {
  const dir = join(ROOT_DIR, `.data/outage-node-${process.pid}`);
  const child = spawn(process.execPath, [join(ROOT_DIR, 'src/main.ts')], {
    cwd: ROOT_DIR,
    env: {
      PATH: process.env.PATH ?? '', ...connectorEnv(TEST_URLS), PORT: String(httpPort), OMNIGATE_API_KEYS: `test:${API_KEY}`, REDIS_CACHE_URL: TEST_REDIS_CACHE_URL, OMNIGATE_EVENT_POLLING: 'false', LOG_LEVEL: 'warn',
      OMNIGATE_PACKAGE_STORE_DIR: join(dir, 'store'), OMNIGATE_AUDIT_FILE: join(dir, 'audit.jsonl'), ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitFor('the gateway process to be ready', async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`).then((r) => r.json() as Promise<{ status: string }>, () => undefined))?.status === 'ready', { timeoutMs: 30_000 });
  return child;
}

describe('delivery through a Kafka outage, a gateway crash and a Redis restart', () => {
  test('every acknowledged webhook reaches a gateway consumer exactly once, in order per key; what a node cut off from Kafka queued goes out through the other node once it is SIGKILLed for good', async (t) => {
    const began = Date.now();
    const phase = (name: string) => t.diagnostic(`${name} at ${Date.now() - began} ms`);
    const run = `crash-${process.pid}`;
    const dir = join(ROOT_DIR, `.data/${run}`);
    const redisPort = await freePort();
    // A Redis of its own: this test restarts it.
    let redis = await startRedis({ port: redisPort, dir: join(dir, 'redis'), role: 'durable' });
    const env = {
      REDIS_URL: redis.url, OMNIGATE_CONNECTOR_TICKETS_NODE_WEBHOOK_SECRET: WEBHOOK_SECRET, OMNIGATE_OUTBOX_LEASE_MS: String(LEASE_MS),
      OMNIGATE_RESILIENCE_TICKETS_NODE_INBOUND_RATE_LIMIT_PER_SEC: '100000',
    };
    // Node A's Kafka is away for the whole test (a broker address where nothing listens): what it
    // takes in waits in the outbox. Node B reaches the run's Kafka.
    const nowhere = `127.0.0.1:${await freePort()}`;
    const [nodeA, nodeB] = await Promise.all([spawnGateway({ ...env, KAFKA_BROKERS: nowhere }, port(18291)), startTestGateway({ ...env, KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(',') })]);
    /** Per event id, how often the consumer's handler ran; per ticket, the sequence numbers in arrival order. */
    const handled = new Map<string, number>();
    const perKey = new Map<string, number[]>();
    const sub = await nodeB.events.subscribe(`${run}-consumer`, async (event) => {
      const ticket = event.data as { id: string; subject: string };
      if (event.type !== 'ticket.updated' || !ticket.id.startsWith(run)) return;
      handled.set(event.id, (handled.get(event.id) ?? 0) + 1);
      perKey.set(ticket.id, [...(perKey.get(ticket.id) ?? []), Number(ticket.subject.slice(1))]);
    });
    const acked = new Set<string>();
    let refused = 0;
    let target = `http://127.0.0.1:${port(18291)}`;
    let stop = false;
    try {
      await sub.ready;
      phase('ready');
      // A sender as the tickets service is one: in order, and it retries until it gets its 202.
      const sending = (async () => {
        for (let n = 0; !stop; n++) {
          const id = `${run}-d${n}`;
          while (!stop) {
            const res = await postTicketWebhook(target, id, `${run}-T${n % 5}`, 'open', `#${n}`).catch(() => undefined);
            if (res?.status === 202) {
              acked.add(`tickets-node:${id}`);
              break;
            }
            if (res && res.status !== 503) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
            if (res) refused += 1;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      })();
      let failed: unknown;
      sending.catch((err: unknown) => (failed = err));
      const sent = (count: number) => () => {
        if (failed) throw failed;
        return acked.size >= count;
      };
      const arrived = () => [...acked].every((id) => handled.has(id));
      await waitFor('webhooks acknowledged by node A', sent(50));
      // Node B relays the buckets it leases; node A's wait, as it cannot reach Kafka.
      await waitFor('events waiting in node A\'s buckets', async () => (await nodeB.events.outbox.depth()) > 0 && !arrived());
      phase('node A killed');
      nodeA.kill('SIGKILL');
      await new Promise((r) => nodeA.once('exit', r));
      target = nodeB.url;
      await waitFor('what node A acknowledged, relayed by node B after taking over its buckets', arrived, { timeoutMs: 30_000 });

      phase('redis stopping');
      await redis.stop();
      await waitFor('a webhook refused while Redis is down', () => refused > 0);
      redis = await startRedis({ port: redisPort, dir: join(dir, 'redis'), role: 'durable' });
      const atRestart = acked.size;
      await waitFor('webhooks acknowledged after the Redis restart', sent(atRestart + 20));
      phase('sending stopped');
      stop = true;
      await sending;
      await waitFor('every acknowledged webhook at the consumer', arrived, { timeoutMs: 60_000 });

      const twice = [...handled].filter(([, count]) => count > 1);
      assert.deepEqual(twice, [], 'no event handled twice');
      for (const [key, ns] of perKey) assert.deepEqual(ns, [...ns].sort((a, b) => a - b), `order of ${key}`);
    } finally {
      stop = true;
      nodeA.kill('SIGKILL');
      await sub.close();
      await nodeB.stop();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a consuming gateway SIGKILLed under load', () => {
  test('the SSE event log holds every acknowledged event exactly once, in order per key, across a consuming node SIGKILLed and restarted with its NODE_ID', async (t) => {
    const run = `consumer-crash-${process.pid}-${Date.now()}`;
    // Keys of their own per run, enough of them that some land on the partitions node C holds
    // after each rebalance: with five, all of a kind could hash to node A's half (about one run in
    // thirty each time), and the waits below for node C to consume them would time out.
    const KEYS = 40;
    const env = {
      REDIS_URL: TEST_REDIS_URL, KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','), OMNIGATE_CONNECTOR_TICKETS_NODE_WEBHOOK_SECRET: WEBHOOK_SECRET, OMNIGATE_RATE_LIMIT_PER_KEY: '1000000',
      OMNIGATE_RESILIENCE_TICKETS_NODE_INBOUND_RATE_LIMIT_PER_SEC: '100000', OMNIGATE_KAFKA_SESSION_TIMEOUT_MS: String(SESSION_MS),
      // The killed node's outbox buckets (of the shared Redis) move to the others soon.
      OMNIGATE_OUTBOX_LEASE_MS: String(LEASE_MS),
    };
    const consumerPort = port(18292);
    // Node A takes the webhooks (and consumes too); node C only consumes: it shares the event log's group.
    const nodeA = await startTestGateway(env);
    const from = (await nodeA.events.eventLog.check('0-0')).newest ?? '0-0';
    const startC = () => spawnGateway({ ...env, NODE_ID: run }, consumerPort);
    let nodeC = await startC();
    /** A counter of node C's event-log writer, from its metrics: `consumed` of a type, or `duplicate` (found written already). */
    const onC = async (metric: 'consumed' | 'duplicate', type = '') => {
      const text = await fetch(`http://127.0.0.1:${consumerPort}/metrics`, { headers: { 'x-api-key': API_KEY } }).then((r) => r.text(), () => '');
      const labels = metric === 'consumed' ? `group="omnigate-event-log",type="${type}"` : 'group="omnigate-event-log"';
      return Number(new RegExp(`omnigate_events_${metric}_total\\{${labels}\\} (\\d+)`).exec(text)?.[1] ?? 0);
    };
    const acked: string[] = [];
    let stop = false;
    try {
      const sending = (async () => {
        for (let n = 0; !stop; n++) {
          const id = `${run}-d${n}`;
          // As the tickets service: in order, retrying until it gets its 202 (a connection reset
          // included: a repeat of a delivery id is dropped by the gateway's inbound dedupe).
          const deliver = () => postTicketWebhook(nodeA.url, id, `${run}-T${n % KEYS}`, 'open', `#${n}`).then((r) => r.status, () => 0);
          while ((await deliver()) !== 202) await new Promise((r) => setTimeout(r, 50));
          acked.push(`tickets-node:${id}`);
        }
      })();
      await waitFor('webhooks acknowledged by node A', () => acked.length >= 20);
      // A burst, so that node C is killed amid a batch it has handled but not yet committed: Kafka hands that over again.
      const burst = Array.from({ length: 600 }, (_, n) => cloudEvent({ source: '/test', type: 'test.burst', partitionkey: `${run}-B${n % KEYS}`, data: { id: `${run}-B${n % KEYS}`, subject: `#${n}` } }));
      await nodeA.events.publishDurably(burst);
      acked.push(...burst.map((e) => e.id));
      await waitFor('node C writing the burst to the log', async () => (await onC('consumed', 'test.burst')) > 0);
      nodeC.kill('SIGKILL');
      await new Promise((r) => nodeC.once('exit', r));
      t.diagnostic(`node C SIGKILLed after ${acked.length} acknowledged`);
      nodeC = await startC();
      const sentAtRestart = acked.length;
      await waitFor('node C, restarted, writing webhooks sent since', async () => acked.length > sentAtRestart + 20 && (await onC('consumed', 'ticket.updated')) > 0);
      stop = true;
      await sending;

      /** The run's events in the log, oldest first (every node tails and replays this log for SSE). */
      const logged = async () => {
        const events = [];
        for (let position = from; ; ) {
          const page = await nodeA.events.eventLog.after(position, 500);
          if (page.length === 0) return events;
          events.push(...page.map((e) => e.event).filter((e) => ['ticket.updated', 'test.burst'].includes(e.type) && (e.data as { id: string }).id.startsWith(run)));
          position = page.at(-1)?.position ?? position;
        }
      };
      await waitFor('every acknowledged event in the log', async () => {
        const ids = new Set((await logged()).map((e) => e.id));
        return acked.every((id) => ids.has(id));
      });
      const events = await logged();
      assert.equal(events.length, acked.length, 'no event logged twice, none that was not acknowledged');
      assert.equal(new Set(events.map((e) => e.id)).size, acked.length);
      const perKey = new Map<string, number[]>();
      for (const { data } of events as { data: { id: string; subject: string } }[]) perKey.set(data.id, [...(perKey.get(data.id) ?? []), Number(data.subject.slice(1))]);
      for (const [key, ns] of perKey) assert.deepEqual(ns, [...ns].sort((a, b) => a - b), `order of ${key}`);
      const onA = /omnigate_events_duplicate_total\{group="omnigate-event-log"\} (\d+)/.exec(await (await nodeA.api('/metrics')).text())?.[1] ?? '0';
      const dropped = Number(onA) + (await onC('duplicate'));
      t.diagnostic(`${acked.length} events; handed over again and dropped by the writers: ${dropped}`);
      assert.ok(dropped > 0, 'the crash made Kafka hand events over again (else the test shows nothing about them)');
    } finally {
      stop = true;
      // Stopped, not killed: it hands its outbox buckets back for the tests after this one.
      const exited = new Promise((r) => nodeC.once('exit', r));
      nodeC.kill('SIGTERM');
      await Promise.all([exited, nodeA.stop()]);
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
      await waitFor('every flushed event', () => received.size >= published.length);
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
      await waitFor('events 1 and 3', () => received.length >= 2);
      assert.deepEqual(received, [1, 3]);
      // The consumer may see event 3 before the relay trims its entry: wait for that, not for a sleep.
      await waitFor('an empty outbox', async () => (await gw.events.outbox.depth()) === 0);
      const redis = new Redis(TEST_REDIS_URL);
      try {
        const dead = await redis.xrange(`${bucketKey(outboxBucketOf('k'))}:dead`, '-', '+');
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

describe('inbound webhooks while Redis is down', () => {
  test('are refused with 503 STORE_UNAVAILABLE and Retry-After (not acknowledged from memory), and accepted once Redis is back', async () => {
    const dir = join(ROOT_DIR, `.data/inbound-redis-${process.pid}`);
    const redisPort = await freePort();
    let redis = await startRedis({ port: redisPort, dir, role: 'durable' });
    const gw = await startTestGateway({ REDIS_URL: redis.url, OMNIGATE_CONNECTOR_TICKETS_NODE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    try {
      assert.equal((await postTicketWebhook(gw.url, `before-${process.pid}`, 'T-1')).status, 202);
      await redis.stop();
      const refused = await postTicketWebhook(gw.url, `during-${process.pid}`, 'T-1', 'pending');
      assert.equal(refused.status, 503);
      assert.equal((await assertMatchesSpec(refused, 'receiveWebhook')).code, 'STORE_UNAVAILABLE');
      assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'says when to retry');
      redis = await startRedis({ port: redisPort, dir, role: 'durable' });
      // The sender retries, as told: accepted once the outbox can store it.
      await waitFor('the retry to be accepted', async () => (await postTicketWebhook(gw.url, `during-${process.pid}`, 'T-1', 'pending')).status === 202);
    } finally {
      await gw.stop();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('outbox bucket leases', () => {
  test('spread the buckets evenly over the live nodes, and a node that stops hands its buckets to the others at once', async () => {
    const dir = join(ROOT_DIR, `.data/leases-${process.pid}`);
    const redis = await startRedis({ port: await freePort(), dir, role: 'durable' });
    const client = new Redis(redis.url);
    const env = { REDIS_URL: redis.url, KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','), OMNIGATE_OUTBOX_BUCKETS: '16', OMNIGATE_OUTBOX_LEASE_MS: String(LONG_LEASE_MS) };
    const holders = async () => {
      const owners = await client.mget(...Array.from({ length: 16 }, (_, b) => `${bucketKey(b)}:lease`));
      return owners.reduce((count, owner) => count.set(String(owner), (count.get(String(owner)) ?? 0) + 1), new Map<string, number>());
    };
    const one = await startTestGateway(env);
    try {
      await waitFor('the only node to hold all 16 buckets', async () => (await holders()).get(one.events.instanceId) === 16);
      const two = await startTestGateway(env);
      try {
        await waitFor('eight buckets each', async () => {
          const held = await holders();
          return held.get(one.events.instanceId) === 8 && held.get(two.events.instanceId) === 8;
        });
      } finally {
        await two.stop();
      }
      // Sooner than the stopped node's leases could run out: it handed them back.
      await waitFor('the stopped node\'s buckets back with the other', async () => (await holders()).get(one.events.instanceId) === 16, { timeoutMs: LONG_LEASE_MS / 2 });
    } finally {
      await one.stop();
      client.disconnect();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
