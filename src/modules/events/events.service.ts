import { randomUUID } from 'node:crypto';
import type { Logger } from '../../kernel/logger.ts';
import type { DedupeStore } from '../../ports/dedupe-store.ts';
import type { BatchHandler, CloudEvent, EventBus, EventHandler, Subscription } from '../../ports/event-bus.ts';
import type { LeaseStore } from '../../ports/lease-store.ts';
import type { OutboxBell } from '../../ports/outbox-bell.ts';
import type { StreamStore } from '../../ports/stream-store.ts';
import type { Metrics } from '../observability/metrics.ts';
import { deduplicated, deduplicatedBatch } from './dedupe.ts';
import { createEventLog, EVENT_LOG_GROUP, type EventLog } from './event-log.ts';
import { DEFAULT_OUTBOX_BUCKETS, DEFAULT_OUTBOX_LEASE_MS } from './outbox-buckets.ts';
import { createOutbox, type Outbox } from './outbox.ts';

export interface EventsDeps {
  /** The bus: Kafka across the nodes, or in-process within this one (the composition root picks it). */
  readonly bus: EventBus;
  /** True when the bus spans nodes (Kafka): the outbox buckets are then the cluster's, leased by the live nodes. */
  readonly isShared: boolean;
  /** How far behind this node's consumer groups are on `topic`, where the bus can tell (Kafka). */
  readonly lag?: { readonly topic: string; read(groups: readonly string[]): Promise<ReadonlyMap<string, number>> };
  readonly nodeId: string;
  /** Marks of the events each consumer group handled (Redis in the gateway). */
  readonly dedupe: DedupeStore;
  /** The outbox's streams and bucket leases (Redis in the gateway). */
  readonly streams: StreamStore;
  readonly leases: LeaseStore;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly outboxBatch?: number;
  /** How long the SSE event log keeps events, and at most how many (docs: README, "Fan-out"). */
  readonly eventLog?: { readonly retentionMs: number; readonly maxEvents: number };
  /** Outbox buckets (the same on every node) and how long a node leases one. */
  readonly outboxBuckets?: number;
  readonly outboxLeaseMs?: number;
  /** Wakes the relay that holds a bucket when another node (or a script) queues events in it; with it, the relay polls only every `outboxPollMs`. */
  readonly bell?: OutboxBell;
  readonly outboxPollMs?: number;
}

/** Publishing (through the outbox), subscribing (deduplicated), and the shared event log for SSE. */
export interface Events {
  readonly nodeId: string;
  /** This process: unique even when two processes were given the same node id. */
  readonly instanceId: string;
  readonly bus: EventBus;
  readonly outbox: Outbox;
  readonly eventLog: EventLog;
  /**
   * Queues events in the outbox: resolves once they are stored (Redis, or memory while Redis is
   * away) and never rejects; it never waits for the bus.
   */
  publish(events: readonly CloudEvent[], topic?: string): Promise<void>;
  /**
   * Queues events in the outbox's Redis streams and resolves only once they are there; throws
   * STORE_UNAVAILABLE (with a Retry-After) when it could only hold them in memory. For events
   * whose sender is told "accepted" and would not send them again.
   */
  publishDurably(events: readonly CloudEvent[], topic?: string): Promise<void>;
  /** A consumer group; each event is handled once per group (ids already seen are dropped). */
  subscribe(group: string, handler: EventHandler, options?: { topic?: string; fromBeginning?: boolean }): Promise<Subscription>;
  /** `subscribe` a batch at a time (what arrived together, repeats dropped), for a handler whose cost is per call. */
  subscribeBatches(group: string, handler: BatchHandler, options?: { topic?: string; fromBeginning?: boolean }): Promise<Subscription>;
  /** Flushes the outbox (bounded) and closes consumers and clients. */
  close(flushTimeoutMs: number): Promise<void>;
}

export async function createEvents(deps: EventsDeps): Promise<Events> {
  const log = deps.log.child({ module: 'events' });
  const { bus, lag } = deps;
  const instanceId = `${deps.nodeId}#${randomUUID().slice(0, 8)}`;
  const outbox = createOutbox({
    streams: deps.streams, leases: deps.leases, bus, log, metrics: deps.metrics, nodeId: deps.nodeId, instanceId, buckets: deps.outboxBuckets ?? DEFAULT_OUTBOX_BUCKETS,
    // With Kafka the buckets are the cluster's, leased by the live nodes; the in-process bus is this node's alone.
    ...(deps.isShared ? { leaseMs: deps.outboxLeaseMs ?? DEFAULT_OUTBOX_LEASE_MS } : {}),
    ...(deps.outboxBatch ? { batchSize: deps.outboxBatch } : {}),
    ...(deps.bell ? { bell: deps.bell } : {}),
    ...(deps.outboxPollMs ? { pollMs: deps.outboxPollMs } : {}),
  });
  const eventLog = await createEventLog({ bus, streams: deps.streams, log, metrics: deps.metrics, ...(deps.eventLog ? { retentionMs: deps.eventLog.retentionMs, maxLength: deps.eventLog.maxEvents } : {}) });
  const subscriptions = new Set<Subscription>();
  const groups = new Set<string>([EVENT_LOG_GROUP]);
  const depthTimer = setInterval(() => void outbox.depth().then((d) => deps.metrics.outboxDepth.set(d), () => undefined), 1_000);
  depthTimer.unref();
  // Consumer lag of this node's groups, from the bus's own offsets.
  const lagTimer = lag
    ? setInterval(() => {
        void lag.read([...groups]).then(
          (lags) => lags.forEach((behind, group) => deps.metrics.consumerLag.set({ group, topic: lag.topic }, behind)),
          () => undefined,
        );
      }, 5_000)
    : undefined;
  lagTimer?.unref();

  /** A subscription of this node's, closed with it; its lag is watched when it is on the default topic. */
  async function track(group: string, options: { topic?: string }, subscribing: Promise<Subscription>): Promise<Subscription> {
    const subscription = await subscribing;
    if (!options.topic) groups.add(group);
    subscriptions.add(subscription);
    return subscription;
  }

  return {
    nodeId: deps.nodeId,
    instanceId,
    bus,
    outbox,
    eventLog,
    publish(events, topic) {
      return outbox.emit(events, topic).catch((err: unknown) => log.error({ err, count: events.length }, 'could not queue events'));
    },
    publishDurably: (events, topic) => outbox.emitDurably(events, topic),
    subscribe: (group, handler, options = {}) => track(group, options, bus.subscribe(group, deduplicated(group, handler, deps), options)),
    subscribeBatches: (group, handler, options = {}) => track(group, options, bus.subscribeBatches(group, deduplicatedBatch(group, handler, deps), options)),
    async close(flushTimeoutMs) {
      clearInterval(depthTimer);
      if (lagTimer) clearInterval(lagTimer);
      const flushed = await outbox.flush(flushTimeoutMs);
      if (!flushed) log.warn({ depth: await outbox.depth() }, 'outbox not empty at shutdown: the rest goes out at the next start');
      await outbox.close();
      await Promise.allSettled([...subscriptions].map((s) => s.close()));
      await eventLog.close();
      await bus.close();
    },
  };
}
