import type { Redis } from 'ioredis';
import type { Logger } from '../../kernel/logger.ts';
import type { RedisHandle } from '../../adapters/redis/redis-client.ts';
import type { CloudEvent, EventBus, Subscription } from '../../ports/event-bus.ts';
import type { Metrics } from '../observability/metrics.ts';
import { DEFAULT_SEEN_TTL_S } from './dedupe.ts';

export const EVENT_LOG_KEY = 'omnigate:events';
export const EVENT_LOG_GROUP = 'omnigate-event-log';
export const DEFAULT_EVENT_LOG_LENGTH = 10_000;
/** Replays read pages on a connection of their own; a page of large events takes longer than a command. */
const REPLAY_COMMAND_TIMEOUT_MS = 5_000;

/** One entry of the shared event log: the event and its position (the SSE event id). */
export interface LoggedEvent {
  readonly position: string;
  readonly event: CloudEvent;
}

/**
 * Where a position stands: `kept` (a replay from it misses nothing), `trimmed` (retention has
 * dropped events after it) or `unknown` (the log never had it); with the log's newest position.
 */
export interface PositionCheck {
  readonly state: 'kept' | 'trimmed' | 'unknown';
  readonly newest: string | undefined;
}

/**
 * The recent events of the whole cluster, as one Redis stream that every node tails for its SSE
 * subscribers. One consumer group shared by all nodes writes it; its entry ids are the positions
 * a client resumes from (Last-Event-ID).
 */
export interface EventLog {
  /** Events after `position` (exclusive), oldest first, at most `count`. */
  after(position: string, count: number): Promise<LoggedEvent[]>;
  check(position: string): Promise<PositionCheck>;
  /** Calls `listener` with every new entry, in order, until the returned function is called. */
  tail(listener: (entry: LoggedEvent) => void): () => void;
  close(): Promise<void>;
}

/**
 * The append and its "already logged" mark in one step: a relay that hands an event over again
 * (after a crash between append and mark, or to a second node during a rebalance) finds the mark.
 */
const APPEND = `
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return 0 end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[3])
return 1`;
const loggedKey = (eventId: string) => `${EVENT_LOG_KEY}:logged:${eventId}`;

/** Stream entry ids are `<ms>-<seq>`: compare them as numbers. */
export function isAfter(position: string, than: string): boolean {
  const [a = 0, b = 0] = position.split('-').map(Number);
  const [c = 0, d = 0] = than.split('-').map(Number);
  return a > c || (a === c && b > d);
}

const toLogged = ([position, fields]: [string, string[]]): LoggedEvent => ({ position, event: JSON.parse(fields[1] ?? 'null') as CloudEvent });

export async function createEventLog(deps: { bus: EventBus; redis: RedisHandle; log: Logger; metrics: Metrics; maxLength?: number; seenTtlS?: number }): Promise<EventLog> {
  const log = deps.log.child({ module: 'event-log' });
  const listeners = new Set<(entry: LoggedEvent) => void>();
  const maxLength = deps.maxLength ?? DEFAULT_EVENT_LOG_LENGTH;
  const { client } = deps.redis;
  // Blocking reads and replays each get a connection of their own: neither waits behind the other
  // nor holds up the shared command connection.
  const reader: Redis = client.duplicate({ commandTimeout: undefined as unknown as number });
  const replayer: Redis = client.duplicate({ commandTimeout: REPLAY_COMMAND_TIMEOUT_MS });
  for (const connection of [reader, replayer]) connection.on('error', (err: Error) => log.debug({ err }, 'event log connection: redis error'));
  let closed = false;
  // An explicit position, never '$': with '$' whatever lands between two blocking reads is lost.
  const newest = (await client.xrevrange(EVENT_LOG_KEY, '+', '-', 'COUNT', 1).catch(() => [])) as [string, string[]][];
  let last = newest[0]?.[0] ?? '0-0';

  // A failure (Redis away) throws, and the bus hands the event over again.
  const writer: Subscription = await deps.bus.subscribe(
    EVENT_LOG_GROUP,
    async (event) => {
      const appended = await client.eval(APPEND, 2, EVENT_LOG_KEY, loggedKey(event.id), String(deps.seenTtlS ?? DEFAULT_SEEN_TTL_S), String(maxLength), JSON.stringify(event));
      if (appended === 1) deps.metrics.eventsConsumed.inc({ group: EVENT_LOG_GROUP, type: event.type });
      else deps.metrics.eventsDuplicate.inc({ group: EVENT_LOG_GROUP });
    },
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
      const entries = (await replayer.xrange(EVENT_LOG_KEY, `(${position}`, '+', 'COUNT', count)) as [string, string[]][];
      return entries.map(toLogged);
    },
    async check(position) {
      const [[, info], [, atPosition]] = (await replayer.multi().xinfo('STREAM', EVENT_LOG_KEY).xrange(EVENT_LOG_KEY, position, position).exec()) as [[unknown, unknown[] | undefined], [unknown, unknown[] | undefined]];
      // The client's own last entry still there: everything after it is too (trimming takes the oldest).
      if ((atPosition ?? []).length > 0) return { state: 'kept', newest: position };
      const field = (name: string) => (info?.includes(name) ? info[info.indexOf(name) + 1] : undefined);
      const newest = (field('last-entry') as [string] | null | undefined)?.[0];
      const oldest = (field('first-entry') as [string] | null | undefined)?.[0];
      if (newest === undefined) return { state: position === '0-0' ? 'kept' : 'unknown', newest };
      if (isAfter(position, newest)) return { state: 'unknown', newest };
      // Before the oldest entry of a log that has lost entries (Redis 7 counts them): events between are gone.
      const hasLost = Number(field('entries-added') ?? Infinity) > Number(field('length'));
      return { state: hasLost && oldest !== undefined && isAfter(oldest, position) ? 'trimmed' : 'kept', newest };
    },
    tail(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      await writer.close();
      reader.disconnect();
      replayer.disconnect();
      await loop;
    },
  };
}
