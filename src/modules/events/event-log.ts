import type { Redis } from 'ioredis';
import type { Logger } from '../../kernel/logger.ts';
import type { RedisHandle } from '../../adapters/redis/redis-client.ts';
import type { CloudEvent, EventBus, Subscription } from '../../ports/event-bus.ts';
import type { Metrics } from '../observability/metrics.ts';
import { deduplicated } from './dedupe.ts';

export const EVENT_LOG_KEY = 'omnigate:events';
export const EVENT_LOG_GROUP = 'omnigate-event-log';
export const DEFAULT_EVENT_LOG_LENGTH = 10_000;

/** One entry of the shared event log: the event and its position (the SSE event id). */
export interface LoggedEvent {
  readonly position: string;
  readonly event: CloudEvent;
}

/**
 * The recent events of the whole cluster, as one Redis stream that every node tails for its SSE
 * subscribers. One consumer group shared by all nodes writes it (each event once, duplicates
 * dropped); its entry ids are the positions a client resumes from (Last-Event-ID).
 */
export interface EventLog {
  /** Events after `position` (exclusive), oldest first, at most `count`. */
  after(position: string, count: number): Promise<LoggedEvent[]>;
  /** Calls `listener` with every new entry, in order, until the returned function is called. */
  tail(listener: (entry: LoggedEvent) => void): () => void;
  close(): Promise<void>;
}

const toLogged = ([position, fields]: [string, string[]]): LoggedEvent => ({ position, event: JSON.parse(fields[1] ?? 'null') as CloudEvent });

export async function createEventLog(deps: { bus: EventBus; redis: RedisHandle; log: Logger; metrics: Metrics; maxLength?: number }): Promise<EventLog> {
  const log = deps.log.child({ module: 'event-log' });
  const listeners = new Set<(entry: LoggedEvent) => void>();
  const maxLength = deps.maxLength ?? DEFAULT_EVENT_LOG_LENGTH;
  // Blocking reads need a connection of their own.
  const reader: Redis = deps.redis.client.duplicate({ commandTimeout: undefined as unknown as number });
  reader.on('error', (err: Error) => log.debug({ err }, 'event log reader: redis error'));
  let closed = false;
  // An explicit position, never '$': with '$' whatever lands between two blocking reads is lost.
  const newest = (await deps.redis.client.xrevrange(EVENT_LOG_KEY, '+', '-', 'COUNT', 1).catch(() => [])) as [string, string[]][];
  let last = newest[0]?.[0] ?? '0-0';

  const writer: Subscription = await deps.bus.subscribe(
    EVENT_LOG_GROUP,
    deduplicated(EVENT_LOG_GROUP, async (event) => {
      await deps.redis.client.xadd(EVENT_LOG_KEY, 'MAXLEN', '~', String(maxLength), '*', 'e', JSON.stringify(event));
    }, deps),
    { fromBeginning: false },
  );

  const loop = (async () => {
    while (!closed) {
      try {
        const reply = (await reader.xread('COUNT', 500, 'BLOCK', 1_000, 'STREAMS', EVENT_LOG_KEY, last)) as [string, [string, string[]][]][] | null;
        for (const [, entries] of reply ?? []) {
          for (const entry of entries) {
            last = entry[0];
            const logged = toLogged(entry);
            for (const listener of listeners) listener(logged);
          }
        }
      } catch (err) {
        if (closed) return;
        log.debug({ err }, 'event log read failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  })();

  return {
    async after(position, count) {
      const entries = (await deps.redis.client.xrange(EVENT_LOG_KEY, `(${position}`, '+', 'COUNT', count)) as [string, string[]][];
      return entries.map(toLogged);
    },
    tail(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      await writer.close();
      reader.disconnect();
      await loop;
    },
  };
}
