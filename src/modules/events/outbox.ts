import { AppError } from '../../kernel/errors.ts';
import { parseKeepingText } from '../../kernel/json-text.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { CloudEvent, EventBus } from '../../ports/event-bus.ts';
import type { LeaseStore } from '../../ports/lease-store.ts';
import type { OutboxBell } from '../../ports/outbox-bell.ts';
import type { StreamEntry, StreamStore } from '../../ports/stream-store.ts';
import type { Metrics } from '../observability/metrics.ts';
import { allBuckets, bucketKey, createBucketLeases, outboxBucketOf, type BucketLeases } from './outbox-buckets.ts';

export const DEFAULT_OUTBOX_BATCH = 100;
export const DEFAULT_MEMORY_BUFFER = 10_000;
/** What a caller that needs its events stored is told to wait before it tries again. */
export const STORE_RETRY_AFTER_MS = 1_000;
/**
 * How long the relay waits between rounds, unless whole batches wait, when nothing wakes it for
 * the events other nodes (and scripts) queue: without a bell. This node's own `emit` wakes it at once.
 */
export const RELAY_IDLE_MS = 50;
/** With a bell, the relay's poll is only the safety net for a ring that was lost. */
export const DEFAULT_RELAY_POLL_MS = 1_000;
/** Emits whose events go to Redis in one transaction at most. */
const MAX_APPEND_GROUP = 1_000;

/** An outbox entry's event, its stored text kept (json-text.ts): the bus sends that text again instead of serialising the event anew. */
const parseEvent = (raw: string | undefined): CloudEvent | undefined => {
  try {
    const event = parseKeepingText(raw ?? '') as CloudEvent | null;
    return event && typeof event.id === 'string' ? event : undefined;
  } catch {
    return undefined;
  }
};

/** Whether stream id `a` (`<ms>-<seq>`) comes after `b`. */
const isAfter = (a: string, b: string): boolean => {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am > bm || (am === bm && as > bs);
};

/** Kafka's refusals that no retry fixes: the batch (or one message) is too large. */
const isTooLarge = (err: unknown): boolean => /MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE|too large/i.test(String((err as { type?: string }).type ?? (err as Error).message ?? ''));

/**
 * The transactional-outbox half of publishing. `emit` appends events to the Redis stream of
 * their bucket (derived from the partition key, see outbox-buckets.ts) and returns at once; the
 * node that leases a bucket relays it to the bus in order, in batches, and deletes events only
 * once the bus has them. The buckets belong to the cluster, not to a node: a node that dies for
 * good leaves nothing behind. While the bus (Kafka) is away events wait, durably with Redis
 * persistence on. While Redis is away `emit` holds them in a bounded in-memory buffer (lost if
 * the process dies then: logged); `emitDurably` refuses instead.
 */
export interface Outbox {
  /** Queues events for `topic` (the bus's default when absent); buffers in memory while Redis is away. */
  emit(events: readonly CloudEvent[], topic?: string): Promise<void>;
  /** Queues events in Redis, or throws STORE_UNAVAILABLE (with a Retry-After): never memory only. */
  emitDurably(events: readonly CloudEvent[], topic?: string): Promise<void>;
  /** The stream of `bucket` as this outbox uses it (see `bucketKey`), for a script that appends itself. */
  streamKey(bucket: number): string;
  /** Events waiting: every bucket's stream plus this node's memory buffer. */
  depth(): Promise<number>;
  /** Relays until the events this node queued are out (whoever relays their bucket) or `timeoutMs` passes; for SIGTERM. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Stops relaying and hands the bucket leases back. */
  close(): Promise<void>;
}

export interface OutboxDeps {
  /** The buckets' streams (Redis in the gateway, shared by every node). */
  readonly streams: StreamStore;
  /** The bucket leases, when they are leased (`leaseMs`). */
  readonly leases: LeaseStore;
  readonly bus: EventBus;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly nodeId: string;
  /** This process, among the nodes that lease buckets (unique even when two share a node id). */
  readonly instanceId: string;
  readonly buckets: number;
  /** Buckets are leased for this long (renewed every tenth of it); absent: the bus is this node's own, no leases. */
  readonly leaseMs?: number;
  readonly batchSize?: number;
  /**
   * Rung for events queued in a bucket another node relays, and heard for this node's buckets
   * (scripts that append to a bucket's stream ring it too). Absent: the relay polls every
   * `RELAY_IDLE_MS` for what it is not told of.
   */
  readonly bell?: OutboxBell;
  /** With a bell, how long the relay waits between rounds when no ring comes (`DEFAULT_RELAY_POLL_MS`). */
  readonly pollMs?: number;
}

export function createOutbox(deps: OutboxDeps): Outbox {
  const log = deps.log.child({ module: 'outbox' });
  const { streams } = deps;
  const scope = deps.leaseMs === undefined ? deps.nodeId : undefined;
  const keyOf = (bucket: number) => bucketKey(bucket, scope);
  const batchSize = deps.batchSize ?? DEFAULT_OUTBOX_BATCH;
  /** Per bucket, the batch size now: halved while Kafka refuses batches as too large. */
  const limits = new Map<number, number>();
  /** An event, the topic it goes to and its bucket. */
  type Pending = { readonly event: CloudEvent; readonly topic: string; readonly bucket: number };
  const DEFAULT = '';
  const memory: Pending[] = [];
  /** The batch each bucket has in flight: a lease is handed back only once it is done. */
  const inFlight = new Map<number, Promise<unknown>>();
  /** Per bucket, the stream id of the last event this node appended (what a flush waits for). */
  const lastAppended = new Map<number, string>();
  let closed = false;
  let wake: (() => void) | undefined;
  /** Nudged since the round began: the next wait ends at once, so nothing nudged mid-round waits for the poll. */
  let rung = false;
  let failures = 0;
  /** Heard: rings reach this relay (until then, and without a bell, it polls every RELAY_IDLE_MS). */
  let hearing = false;
  const pollMs = deps.pollMs ?? DEFAULT_RELAY_POLL_MS;
  const bucketOfKey = new Map(Array.from({ length: deps.buckets }, (_, b) => [keyOf(b), b]));

  const leases: BucketLeases = deps.leaseMs === undefined
    ? allBuckets(deps.buckets)
    : createBucketLeases({
      leases: deps.leases, log, instanceId: deps.instanceId, nodeId: deps.nodeId, buckets: deps.buckets, leaseMs: deps.leaseMs,
      settle: async (b) => void (await inFlight.get(b)?.catch(() => undefined)),
      // A bucket taken over may hold events whose ring went to its former holder.
      onAcquired: () => nudge(),
    });

  function nudge(): void {
    rung = true;
    wake?.();
  }
  const idle = (ms: number) => new Promise<void>((resolve) => {
    if (rung || closed) return resolve();
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });

  /** Listens to the bell; until it is heard (Redis away at start), the relay polls every RELAY_IDLE_MS and tries again each second. */
  async function listen(bell: OutboxBell): Promise<{ close(): Promise<void> } | undefined> {
    for (let attempt = 1; !closed; attempt++) {
      try {
        const listener = await bell.listen({
          onRing: (streams) => {
            if (streams.some((stream) => leases.holds(bucketOfKey.get(stream) ?? -1))) nudge();
          },
          onMissed: nudge,
        });
        hearing = true;
        // Events rung for while it was not heard.
        nudge();
        return listener;
      } catch (err) {
        if (attempt === 1 || attempt % 60 === 0) log.warn({ err, attempt }, `outbox bell not heard yet: the relay polls every ${RELAY_IDLE_MS} ms meanwhile`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
    return undefined;
  }
  const listening = deps.bell ? listen(deps.bell) : undefined;
  const pendingOf = (events: readonly CloudEvent[], topic: string): Pending[] => events.map((event) => ({ event, topic, bucket: outboxBucketOf(event.partitionkey, deps.buckets) }));

  async function append(items: readonly Pending[]): Promise<void> {
    const ids = await streams.append(items.map(({ event, topic, bucket }) => ({ stream: keyOf(bucket), fields: { e: JSON.stringify(event), t: topic } })));
    items.forEach(({ bucket }, i) => lastAppended.set(bucket, ids[i] ?? '0-0'));
    // The relay of a bucket this node does not hold hears of it by the bell; its own, by `nudge`.
    if (deps.bell) {
      const elsewhere = new Set<string>();
      for (const { bucket } of items) if (!leases.holds(bucket)) elsewhere.add(keyOf(bucket));
      if (elsewhere.size > 0) deps.bell.ring([...elsewhere]);
    }
  }

  /**
   * Group commit: events handed over while an append is in flight go together in the next one
   * (one transaction, one write, one round trip), in the order they came; alone, an emit's events
   * go at once. Each caller learns of its own events. When an append fails, the emits queued behind
   * it fail too, so that they wait in memory behind it rather than overtake it into Redis.
   */
  const queued: { readonly items: readonly Pending[]; readonly done: (err?: unknown) => void }[] = [];
  let appending = false;
  const appendTogether = (items: readonly Pending[]) =>
    new Promise<void>((resolve, reject) => {
      queued.push({ items, done: (err) => (err === undefined ? resolve() : reject(err)) });
      if (!appending) void appendQueued();
    });
  async function appendQueued(): Promise<void> {
    appending = true;
    try {
      while (queued.length > 0) {
        const group = queued.splice(0, MAX_APPEND_GROUP);
        try {
          await append(group.flatMap((g) => g.items));
        } catch (err) {
          for (const g of [...group, ...queued.splice(0)]) g.done(err);
          continue;
        }
        for (const g of group) g.done();
      }
    } finally {
      appending = false;
    }
  }

  /** Moves what waits in memory into the streams, ahead of anything newer. */
  async function moveMemory(): Promise<void> {
    if (memory.length === 0) return;
    const moving = memory.splice(0, memory.length);
    try {
      await append(moving);
    } catch (err) {
      memory.unshift(...moving);
      throw err;
    }
  }

  /** An entry that can never go out is moved to its bucket's dead-letter stream, so the rest can. */
  async function setAside(bucket: number, { id }: StreamEntry, why: string): Promise<void> {
    // One step, and only if the entry is still there: a relay that read it too (a lease handed
    // over meanwhile) or a restart after a crash sets nothing aside twice.
    if (await streams.move(keyOf(bucket), id, `${keyOf(bucket)}:dead`, { why })) log.error({ bucket, entry: id, why }, 'outbox entry set aside in its dead-letter stream');
  }

  type Parsed = { readonly entry: StreamEntry; readonly id: string; readonly event: CloudEvent | undefined; readonly topic: string };
  const parse = (entries: readonly StreamEntry[]): Parsed[] => entries.map((entry) => ({ entry, id: entry.id, event: parseEvent(entry.fields.e), topic: entry.fields.t ?? DEFAULT }));
  /** A bucket's longest leading run bound for one topic, at most `limit` (one send keeps its order); empty when the first entry is no event. */
  function leadingRun(parsed: readonly Parsed[], limit: number): Parsed[] {
    const run: Parsed[] = [];
    const topic = parsed[0]?.topic;
    for (const entry of parsed) {
      if (entry.event === undefined || entry.topic !== topic || run.length >= limit) break;
      run.push(entry);
    }
    return run;
  }

  /** One batch of one bucket: the longest leading run bound for one topic (one send keeps its order). */
  async function relayBucket(bucket: number, entries: readonly StreamEntry[]): Promise<number> {
    const limit = limits.get(bucket) ?? batchSize;
    const parsed = parse(entries);
    const [first] = parsed;
    if (!first) return 0;
    if (first.event === undefined) {
      await setAside(bucket, first.entry, 'not a CloudEvent');
      return 0;
    }
    const run = leadingRun(parsed, limit);
    try {
      await deps.bus.publish(run.map((r) => r.event as CloudEvent), first.topic ? { topic: first.topic } : {});
    } catch (err) {
      // Kafka refuses a batch too large: send smaller ones; one event alone that is refused is set aside.
      if (!isTooLarge(err)) throw err;
      if (run.length > 1) limits.set(bucket, Math.max(1, Math.floor(run.length / 2)));
      else await setAside(bucket, first.entry, 'too large for Kafka');
      return 0;
    }
    limits.delete(bucket);
    await streams.remove(keyOf(bucket), run.map((r) => r.id));
    return run.length;
  }

  /**
   * The leading runs of several buckets bound for one topic, in one send: a key lives in one
   * bucket, so its events keep their order. Refused as too large, each bucket goes on its own
   * (and halves its batches as it must). Then each bucket's run is deleted.
   */
  async function relayTogether(runs: readonly { readonly bucket: number; readonly entries: readonly StreamEntry[]; readonly run: readonly Parsed[] }[]): Promise<number> {
    const topic = runs[0]?.run[0]?.topic ?? DEFAULT;
    try {
      await deps.bus.publish(runs.flatMap(({ run }) => run.map((r) => r.event as CloudEvent)), topic ? { topic } : {});
    } catch (err) {
      if (!isTooLarge(err)) throw err;
      let sent = 0;
      for (const { bucket, entries } of runs) sent += await relayBucket(bucket, entries);
      return sent;
    }
    await streams.removeMany(runs.map(({ bucket, run }) => ({ stream: keyOf(bucket), ids: run.map((r) => r.id) })));
    return runs.reduce((n, { run }) => n + run.length, 0);
  }

  /**
   * One round: memory into the streams, then what waits in each bucket this node holds. Buckets
   * whose first entries are events for one topic go out in one send per topic, not one send and
   * one delete round trip after another per bucket; a bucket that needs care (an entry that is no
   * event, batches halved after a refusal) goes on its own. `full`: some bucket had a whole batch
   * waiting (more may wait behind it).
   */
  async function relayOnce(): Promise<{ sent: number; full: boolean }> {
    rung = false;
    if (!streams.isUp()) return { sent: 0, full: false };
    await moveMemory().catch(() => undefined);
    const buckets = leases.held();
    if (buckets.length === 0) return { sent: 0, full: false };
    // The reads of every bucket in one go (one write and one round trip on Redis), not one each.
    const results = await streams.rangeMany(buckets.map((bucket) => ({ stream: keyOf(bucket), count: limits.get(bucket) ?? batchSize })));
    // A lease lost or handed back meanwhile: that bucket is another node's now.
    const waiting = buckets.map((bucket, i) => ({ bucket, entries: results[i] ?? [] })).filter(({ bucket, entries }) => entries.length > 0 && leases.holds(bucket));
    if (waiting.length === 0) return { sent: 0, full: false };
    const full = waiting.some(({ bucket, entries }) => entries.length >= (limits.get(bucket) ?? batchSize));
    const alone: { bucket: number; entries: readonly StreamEntry[] }[] = [];
    const byTopic = new Map<string, { bucket: number; entries: readonly StreamEntry[]; run: Parsed[] }[]>();
    for (const { bucket, entries } of waiting) {
      const run = limits.has(bucket) ? [] : leadingRun(parse(entries), batchSize);
      const topic = run[0]?.topic;
      if (topic === undefined) alone.push({ bucket, entries });
      else byTopic.set(topic, [...(byTopic.get(topic) ?? []), { bucket, entries, run }]);
    }
    const work = (async () => {
      let sent = 0;
      for (const runs of byTopic.values()) sent += await relayTogether(runs);
      for (const { bucket, entries } of alone) sent += await relayBucket(bucket, entries);
      return sent;
    })();
    // A lease is handed back only once the batch holding its bucket is done.
    for (const { bucket } of waiting) inFlight.set(bucket, work);
    try {
      return { sent: await work, full };
    } finally {
      for (const { bucket } of waiting) if (inFlight.get(bucket) === work) inFlight.delete(bucket);
    }
  }

  const relay = (async () => {
    while (!closed) {
      try {
        const { sent, full } = await relayOnce();
        if (sent > 0) {
          deps.metrics.eventsProduced.inc(sent);
          if (failures > 0) log.info({ afterFailures: failures }, 'event bus reachable again: outbox draining');
          failures = 0;
        }
        // Straight on while whole batches wait; otherwise the next round gathers what came meanwhile
        // (a round per event would cost a send and a delete per event, and read every bucket again).
        if (!full) await idle(hearing ? pollMs : RELAY_IDLE_MS);
      } catch (err) {
        failures += 1;
        if (failures === 1 || failures % 20 === 0) log.warn({ err, failures }, 'event bus unreachable: events wait in the outbox');
        await idle(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  })();

  const unavailable = (err?: unknown) =>
    new AppError('STORE_UNAVAILABLE', 'the event outbox (Redis) is unavailable: the events could not be stored; retry later', { retryAfterMs: STORE_RETRY_AFTER_MS }, err === undefined ? undefined : { cause: err });

  /**
   * Whether events this node queued still wait, in memory or in any bucket (whoever relays it):
   * a bucket's oldest entry at or before the last one this node appended there.
   */
  async function ownStillQueued(): Promise<boolean> {
    if (memory.length > 0) return true;
    if (!streams.isUp()) return false;
    const mine = [...lastAppended];
    const firsts = await Promise.all(mine.map(([b]) => streams.range(keyOf(b), { count: 1 }).catch(() => [])));
    return firsts.some(([first], i) => first !== undefined && !isAfter(first.id, mine[i]?.[1] ?? '0-0'));
  }

  return {
    async emit(events, topic = DEFAULT) {
      if (events.length === 0) return;
      const items = pendingOf(events, topic);
      try {
        if (!streams.isUp()) throw new Error('redis is away');
        // Behind events still waiting in memory, never ahead of them.
        if (memory.length > 0) throw new Error('older events wait in memory');
        await appendTogether(items);
      } catch (err) {
        if (memory.length + events.length > DEFAULT_MEMORY_BUFFER) {
          log.error({ dropped: events.length }, 'outbox buffer full while redis is away: events dropped');
          deps.metrics.eventsDropped.inc(events.length);
          return;
        }
        if (memory.length === 0) log.warn({ err }, 'redis is away: outbox buffers events in memory');
        memory.push(...items);
      }
      nudge();
    },
    async emitDurably(events, topic = DEFAULT) {
      if (events.length === 0) return;
      if (!streams.isUp()) throw unavailable();
      try {
        await moveMemory();
        await appendTogether(pendingOf(events, topic));
      } catch (err) {
        throw unavailable(err);
      }
      nudge();
    },
    streamKey: keyOf,
    async depth() {
      if (!streams.isUp()) return memory.length;
      const lengths = await Promise.all(Array.from({ length: deps.buckets }, (_, b) => streams.length(keyOf(b)).catch(() => 0)));
      return lengths.reduce((a, b) => a + b, memory.length);
    },
    async flush(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (!(await ownStillQueued())) return true;
        nudge();
        await new Promise((r) => setTimeout(r, 25));
      }
      return !(await ownStillQueued());
    },
    async close() {
      closed = true;
      nudge();
      await relay;
      await (await listening)?.close();
      await leases.close();
    },
  };
}
