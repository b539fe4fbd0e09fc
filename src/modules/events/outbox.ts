import type { Logger } from '../../kernel/logger.ts';
import type { RedisHandle } from '../../adapters/redis/redis-client.ts';
import type { CloudEvent, EventBus } from '../../ports/event-bus.ts';
import type { Metrics } from '../observability/metrics.ts';

export const DEFAULT_OUTBOX_BATCH = 100;
export const DEFAULT_MEMORY_BUFFER = 10_000;

/**
 * The transactional-outbox half of publishing: `emit` appends events to a Redis stream of this
 * node and returns at once; a relay hands them to the bus in order, in batches, and deletes them
 * only once the bus has them. While the bus (Kafka) is away events wait, durably with Redis
 * persistence on, and go out in order when it is back. If Redis itself is away they wait in a
 * bounded in-memory buffer instead (lost if the process dies then: logged).
 */
const parseEvent = (raw: string | undefined): CloudEvent | undefined => {
  try {
    const event = JSON.parse(raw ?? '') as CloudEvent | null;
    return event && typeof event.id === 'string' ? event : undefined;
  } catch {
    return undefined;
  }
};

/** Kafka's refusals that no retry fixes: the batch (or one message) is too large. */
const isTooLarge = (err: unknown): boolean => /MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE|too large/i.test(String((err as { type?: string }).type ?? (err as Error).message ?? ''));

export interface Outbox {
  /** Queues events for `topic` (the bus's default when absent). */
  emit(events: readonly CloudEvent[], topic?: string): Promise<void>;
  /** Events waiting (Redis stream plus memory buffer). */
  depth(): Promise<number>;
  /** Relays until empty or `timeoutMs` passes; for SIGTERM. */
  flush(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export function createOutbox(deps: { redis: RedisHandle; bus: EventBus; log: Logger; metrics: Metrics; nodeId: string; batchSize?: number }): Outbox {
  const log = deps.log.child({ module: 'outbox' });
  const key = `omnigate:outbox:${deps.nodeId}`;
  const batchSize = deps.batchSize ?? DEFAULT_OUTBOX_BATCH;
  /** The batch size now: halved while Kafka refuses batches as too large. */
  let limit = batchSize;
  /** An event and the topic it goes to. */
  type Pending = { readonly event: CloudEvent; readonly topic: string };
  const DEFAULT = '';
  const memory: Pending[] = [];
  let closed = false;
  /** True while the Redis stream may hold events not yet sent (then memory must wait behind them). */
  let streamBacklog = true;
  let wake: (() => void) | undefined;
  let failures = 0;

  const nudge = () => wake?.();
  const idle = (ms: number) => new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });

  /** The longest run of leading items bound for one topic: one send keeps their order. */
  function sameTopicRun<T extends Pending>(items: readonly T[]): T[] {
    const topic = items[0]?.topic;
    const run: T[] = [];
    for (const item of items) {
      if (item.topic !== topic || run.length >= limit) break;
      run.push(item);
    }
    return run;
  }
  const send = (run: readonly Pending[]) => deps.bus.publish(run.map((p) => p.event), run[0]?.topic ? { topic: run[0].topic } : {});

  /** One batch: memory first (older than anything Redis got after it), then the Redis stream. */
  async function relayOnce(): Promise<number> {
    if (memory.length > 0 && deps.redis.isUp()) {
      // Move the buffer into the stream, so that order stays one sequence.
      const moving = memory.splice(0, memory.length);
      try {
        await append(moving);
      } catch {
        memory.unshift(...moving);
      }
    }
    // Newer events in memory must not overtake older ones still in the stream.
    if (memory.length > 0 && !streamBacklog) {
      const run = sameTopicRun(memory);
      await send(run);
      memory.splice(0, run.length);
      return run.length;
    }
    if (!deps.redis.isUp()) return 0;
    const entries = await deps.redis.client.xrange(key, '-', '+', 'COUNT', limit);
    streamBacklog = entries.length > 0;
    if (entries.length === 0) return 0;
    const parsed = entries.map(([id, fields]) => ({ id, fields, event: parseEvent(fields[1]), topic: fields[3] ?? DEFAULT }));
    const broken = parsed[0]?.event === undefined ? parsed[0] : undefined;
    if (broken) {
      await setAside(broken.id, broken.fields, 'not a CloudEvent');
      return 0;
    }
    const firstBroken = parsed.findIndex((p) => p.event === undefined);
    const sendable = (firstBroken === -1 ? parsed : parsed.slice(0, firstBroken)) as (Pending & { id: string; fields: string[] })[];
    const run = sameTopicRun(sendable);
    try {
      await send(run);
    } catch (err) {
      // Kafka refuses a batch too large: send smaller ones; one event alone that is refused is set aside.
      if (!isTooLarge(err)) throw err;
      if (run.length > 1) {
        limit = Math.max(1, Math.floor(run.length / 2));
        return 0;
      }
      const [only] = parsed;
      if (only) await setAside(only.id, only.fields, 'too large for Kafka');
      return 0;
    }
    limit = batchSize;
    await deps.redis.client.xdel(key, ...run.map((r) => r.id));
    return run.length;
  }

  /** An entry that can never go out is moved to a dead-letter stream, so the rest can. */
  async function setAside(id: string, fields: string[], why: string): Promise<void> {
    log.error({ entry: id, why }, 'outbox entry set aside in its dead-letter stream');
    await deps.redis.client.xadd(`${key}:dead`, '*', ...fields, 'why', why);
    await deps.redis.client.xdel(key, id);
  }

  async function append(items: readonly Pending[]): Promise<void> {
    const pipeline = deps.redis.client.multi();
    for (const { event, topic } of items) pipeline.xadd(key, '*', 'e', JSON.stringify(event), 't', topic);
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw failed?.[0] ?? new Error('outbox append failed');
  }

  const relay = (async () => {
    while (!closed) {
      try {
        const sent = await relayOnce();
        if (sent > 0) {
          deps.metrics.eventsProduced.inc(sent);
          if (failures > 0) log.info({ afterFailures: failures }, 'event bus reachable again: outbox draining');
          failures = 0;
        } else await idle(50);
      } catch (err) {
        failures += 1;
        if (failures === 1 || failures % 20 === 0) log.warn({ err, failures }, 'event bus unreachable: events wait in the outbox');
        await idle(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  })();

  return {
    async emit(events, topic = DEFAULT) {
      if (events.length === 0) return;
      const items = events.map((event) => ({ event, topic }));
      try {
        if (!deps.redis.isUp()) throw new Error('redis is away');
        // Behind events still waiting in memory, never ahead of them.
        if (memory.length > 0) throw new Error('older events wait in memory');
        await append(items);
        streamBacklog = true;
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
    async depth() {
      const stored = deps.redis.isUp() ? await deps.redis.client.xlen(key).catch(() => 0) : 0;
      return stored + memory.length;
    },
    async flush(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if ((await this.depth()) === 0) return true;
        nudge();
        await new Promise((r) => setTimeout(r, 25));
      }
      return (await this.depth()) === 0;
    },
    async close() {
      closed = true;
      nudge();
      await relay;
    },
  };
}
