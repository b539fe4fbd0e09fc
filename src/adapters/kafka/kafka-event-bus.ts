import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import type { Logger } from '../../kernel/logger.ts';
import { jsonTextOf, parseKeepingText } from '../../kernel/json-text.ts';
import type { BatchHandler, CloudEvent, EventBus, EventHandler, Subscription } from '../../ports/event-bus.ts';

import { COMMANDS_TOPIC, CONVERSATIONS_TOPIC, EVENTS_TOPIC } from '../../kernel/events.ts';

export { COMMANDS_TOPIC, CONVERSATIONS_TOPIC, EVENTS_TOPIC };
/** Topics the gateway creates at start, with their partition counts. */
export const TOPICS = [
  { topic: EVENTS_TOPIC, numPartitions: 6 },
  // One partition: every node sees commands in the order they were given.
  { topic: COMMANDS_TOPIC, numPartitions: 1 },
  // Conversation events, keyed by conversation id; for the world outside only (no gateway consumer).
  { topic: CONVERSATIONS_TOPIC, numPartitions: 6 },
] as const;

/**
 * How long the broker holds an empty fetch. A consumer's disconnect waits for the fetch in
 * flight, so kafkajs's 5 s default made every shutdown wait about that long per consumer.
 */
export const FETCH_WAIT_MS = 500;
const DEFAULT_SESSION_TIMEOUT_MS = 10_000;
/** How often a batch subscription commits what it handled. */
export const BATCH_COMMIT_INTERVAL_MS = 1_000;

export interface KafkaEventBusOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly log: Logger;
  /** How long a send waits for the broker before it fails (the outbox retries it). */
  readonly requestTimeoutMs?: number;
  /** How long a consumer may be silent (a crashed process) before its partitions go to the group's others. */
  readonly sessionTimeoutMs?: number;
}

/** kafkajs logs through our pino logger, at its own levels. */
function kafkaLogCreator(log: Logger) {
  return () =>
    ({ level, log: entry }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      const { message, ...rest } = entry;
      const method = level <= logLevel.ERROR ? 'warn' : level === logLevel.WARN ? 'warn' : 'debug';
      log[method]({ kafka: rest }, message);
    };
}

/**
 * The EventBus on Kafka: events keyed by `partitionkey` (so per-key order holds on a partition),
 * an idempotent producer, one consumer per group and subscription, offsets committed after the
 * handler succeeded (at least once). A group new to a topic starts from its earliest retained
 * event, so it misses nothing produced before it first joined; a known group resumes after its
 * committed offset.
 */
export function createKafkaEventBus(options: KafkaEventBusOptions): EventBus & { ensureTopics(): Promise<void>; isConnected(): boolean; lag(groups: readonly string[], topic: string): Promise<Map<string, number>> } {
  const log = options.log.child({ module: 'kafka' });
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(log),
    requestTimeout: options.requestTimeoutMs ?? 5_000,
    connectionTimeout: 2_000,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 },
  });
  let producer: Producer | undefined;
  let connected = false;
  const consumers = new Set<Consumer>();
  const sessionTimeout = options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
  // Several heartbeats per session, so one late heartbeat does not cost a member its partitions.
  const heartbeatInterval = Math.min(1_000, Math.floor(sessionTimeout / 3));
  // Assigned once below; subscribe() uses it to create the topics first.
  let bus: ReturnType<typeof createKafkaEventBus>;

  async function producerReady(): Promise<Producer> {
    if (producer && connected) return producer;
    if (!producer) {
      producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      producer.on('producer.disconnect', () => (connected = false));
    }
    await producer.connect();
    connected = true;
    return producer;
  }

  bus = {
    isConnected: () => connected,

    /** Messages each group is behind the end of `topic`, summed over partitions. */
    async lag(groups, topic) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.offset)]));
        const result = new Map<string, number>();
        for (const group of groups) {
          const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
          const behind = (committed?.partitions ?? []).reduce((sum, p) => {
            const end = ends.get(p.partition) ?? 0;
            const at = Number(p.offset);
            return sum + (at < 0 ? end : Math.max(0, end - at));
          }, 0);
          result.set(group, behind);
        }
        return result;
      } finally {
        await admin.disconnect();
      }
    },

    async ensureTopics() {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const existing = new Set(await admin.listTopics());
        const missing = TOPICS.filter((t) => !existing.has(t.topic));
        if (missing.length > 0) await admin.createTopics({ topics: missing.map((t) => ({ ...t, replicationFactor: 1 })), waitForLeaders: true });
      } finally {
        await admin.disconnect();
      }
    },

    async publish(events, opts = {}) {
      if (events.length === 0) return;
      const p = await producerReady().catch((err: unknown) => {
        connected = false;
        throw err;
      });
      try {
        await p.send({
          topic: opts.topic ?? EVENTS_TOPIC,
          acks: -1,
          messages: events.map((event) => ({
            key: event.partitionkey,
            value: jsonTextOf(event),
            headers: { 'content-type': 'application/cloudevents+json', ce_id: event.id, ce_type: event.type },
          })),
        });
      } catch (err) {
        connected = false;
        await p.disconnect().catch(() => undefined);
        producer = undefined;
        throw err;
      }
    },

    subscribe: (group, handler, opts = {}) => join(group, { each: handler }, opts),
    subscribeBatches: (group, handler, opts = {}) => join(group, { batch: handler }, opts),

    async close() {
      await Promise.allSettled([...consumers].map((c) => c.disconnect()));
      consumers.clear();
      await producer?.disconnect().catch(() => undefined);
      connected = false;
    },
  };

  /** Events as kafkajs hands them over; each remembers its JSON text (a consumer that stores it again need not serialise it). */
  const eventOf = (value: Buffer) => parseKeepingText(value.toString()) as CloudEvent;

  async function join(group: string, handler: { readonly each: EventHandler } | { readonly batch: BatchHandler }, opts: { readonly topic?: string; readonly fromBeginning?: boolean }): Promise<Subscription> {
    let closed = false;
    let consumer: Consumer | undefined;
    // A batch subscription commits what it handled once a second and when it stops, not after
    // every batch: a round trip to the broker per batch would cap the rate. A crash hands up to
    // a second of handled events over again, which the batch handler drops by its own marks.
    const handled = new Map<string, { topic: string; partition: number; offset: string }>();
    const commit = async () => {
      if (handled.size === 0 || !consumer) return;
      const offsets = [...handled.values()];
      handled.clear();
      // Refused (a rebalance meanwhile): those events are handed over again, and dropped as seen.
      await consumer.commitOffsets(offsets).catch((err: unknown) => log.debug({ group, err }, 'kafka offsets not committed'));
    };
    const committer = 'batch' in handler ? setInterval(() => void commit(), BATCH_COMMIT_INTERVAL_MS) : undefined;
    committer?.unref();
    // Joins in the background, retrying while the broker is away: a gateway starts without Kafka.
    const ready = (async () => {
      for (let attempt = 0; !closed; attempt++) {
        consumer = kafka.consumer({ groupId: group, allowAutoTopicCreation: false, sessionTimeout, heartbeatInterval, maxWaitTimeInMs: FETCH_WAIT_MS, retry: { retries: 1_000_000, initialRetryTime: 300, maxRetryTime: 5_000 } });
        try {
          // Our topics may not exist yet on a fresh cluster (a consumer can start first).
          await bus.ensureTopics();
          await consumer.connect();
          await consumer.subscribe({ topic: opts.topic ?? EVENTS_TOPIC, fromBeginning: opts.fromBeginning ?? true });
          const joined = new Promise<void>((resolve) => consumer?.on(consumer.events.GROUP_JOIN, () => resolve()));
          await consumer.run({
            // Batches commit once a second (see `handled`), not after each one.
            autoCommit: 'each' in handler,
            ...('each' in handler
              ? {
                  // One message at a time per partition: a handler that fails sees the same event again.
                  eachMessage: async ({ message }) => {
                    if (message.value) await handler.each(eventOf(message.value));
                  },
                }
              : {
                  // A partition's fetched batch at a time; resolved (and committed) once the handler succeeded.
                  eachBatch: async ({ batch }) => {
                    const events = batch.messages.flatMap((m) => (m.value ? [eventOf(m.value)] : []));
                    if (events.length > 0) await handler.batch(events);
                    handled.set(`${batch.topic}:${batch.partition}`, { topic: batch.topic, partition: batch.partition, offset: String(BigInt(batch.lastOffset()) + 1n) });
                  },
                }),
          });
          consumers.add(consumer);
          await joined;
          return;
        } catch (err) {
          log.warn({ group, err, attempt }, 'kafka consumer could not join; retrying');
          await consumer.disconnect().catch(() => undefined);
          await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** Math.min(attempt, 5))));
        }
      }
    })();
    return {
      ready,
      async close() {
        closed = true;
        clearInterval(committer);
        if (consumer) {
          consumers.delete(consumer);
          await commit();
          await consumer.disconnect().catch(() => undefined);
        }
      },
    };
  }

  return bus;
}
