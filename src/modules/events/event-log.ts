import { jsonTextOf } from '../../kernel/json-text.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { CloudEvent, EventBus, Subscription } from '../../ports/event-bus.ts';
import type { StreamEntry, StreamStore } from '../../ports/stream-store.ts';
import type { Metrics } from '../observability/metrics.ts';
import { DEFAULT_SEEN_TTL_S } from './dedupe.ts';

export const EVENT_LOG_KEY = 'omnigate:events';
export const EVENT_LOG_GROUP = 'omnigate-event-log';
/** How long the log keeps an event for a client to resume after it (`OMNIGATE_SSE_LOG_RETENTION_MS`). */
export const DEFAULT_EVENT_LOG_RETENTION_MS = 10 * 60 * 1000;
/** A cap on its length whatever the rate, for Redis's memory (`OMNIGATE_SSE_LOG_MAX_EVENTS`): ~100 MB of 1 KB events; at 20,000 events/s it holds 5 s. */
export const DEFAULT_EVENT_LOG_LENGTH = 100_000;
/** Replays read pages on a connection of their own; a page of large events takes longer than a command. */
const REPLAY_COMMAND_TIMEOUT_MS = 5_000;

/**
 * One entry of the shared event log: its position (the SSE event id), what streams filter by,
 * and the event as the JSON text it came as; `event` parses that text when asked (a stream sends
 * the text, it does not parse it).
 */
export interface LoggedEvent {
  readonly position: string;
  readonly type: string;
  readonly subject: string | undefined;
  readonly text: string;
  readonly event: CloudEvent;
}

class LogEntry implements LoggedEvent {
  readonly position: string;
  readonly type: string;
  readonly subject: string | undefined;
  readonly text: string;
  #event: CloudEvent | undefined;
  constructor(position: string, type: string, subject: string | undefined, text: string) {
    this.position = position;
    this.type = type;
    this.subject = subject;
    this.text = text;
  }
  get event(): CloudEvent {
    return (this.#event ??= JSON.parse(this.text) as CloudEvent);
  }
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

const loggedKey = (eventId: string) => `${EVENT_LOG_KEY}:logged:${eventId}`;

/** Stream entry ids are `<ms>-<seq>`: compare them as numbers. */
export function isAfter(position: string, than: string): boolean {
  const [a = 0, b = 0] = position.split('-').map(Number);
  const [c = 0, d = 0] = than.split('-').map(Number);
  return a > c || (a === c && b > d);
}

/** The fields of an event in the log: its JSON text, and its type and subject for the streams' filters. */
const fieldsOf = (event: CloudEvent): Record<string, string> => ({ e: jsonTextOf(event), y: event.type, ...(event.subject === undefined ? {} : { s: event.subject }) });

function toLogged({ id, fields }: StreamEntry): LoggedEvent {
  const text = fields.e ?? 'null';
  if (fields.y !== undefined) return new LogEntry(id, fields.y, fields.s, text);
  // Written before entries carried their type (a log from an older version): read it from the event.
  const event = JSON.parse(text) as CloudEvent;
  return new LogEntry(id, event.type, event.subject, text);
}

/** `group` is the writers' consumer group (every node's the same one) on `topic` (the bus's default); tests take fresh ones. */
export async function createEventLog(deps: { bus: EventBus; streams: StreamStore; log: Logger; metrics: Metrics; retentionMs?: number; maxLength?: number; seenTtlS?: number; group?: string; topic?: string }): Promise<EventLog> {
  const log = deps.log.child({ module: 'event-log' });
  const listeners = new Set<(entry: LoggedEvent) => void>();
  // Sized by time: a client away less than the retention resumes, at any rate; the length cap only guards Redis's memory.
  const trimming = { maxAgeMs: deps.retentionMs ?? DEFAULT_EVENT_LOG_RETENTION_MS, maxLength: deps.maxLength ?? DEFAULT_EVENT_LOG_LENGTH };
  const { streams } = deps;
  // Blocking reads and replays each get a reader of their own: neither waits behind the other nor
  // holds up the shared command connection.
  const reader = streams.reader();
  const replayer = streams.reader({ timeoutMs: REPLAY_COMMAND_TIMEOUT_MS });
  let closed = false;
  // An explicit position, never '$': with '$' whatever lands between two blocking reads is lost.
  let last = (await streams.newest(EVENT_LOG_KEY).catch(() => undefined))?.id ?? '0-0';

  // A failure (Redis away) throws, and the bus hands the batch over again. A group new to the bus
  // (a fresh cluster) starts from the earliest event it holds, so what was relayed before any node
  // first joined is logged too; the append is once per id, so a replay writes nothing twice.
  const group = deps.group ?? EVENT_LOG_GROUP;
  const ttlMs = (deps.seenTtlS ?? DEFAULT_SEEN_TTL_S) * 1_000;
  const writer: Subscription = await deps.bus.subscribeBatches(
    group,
    async (events) => {
      // A batch in one round trip (each append with its "already logged" mark in one step): a
      // relay that hands events over again (after a crash between append and mark, a rebalance,
      // or this batch failing part way) finds their marks. Each event keeps the JSON text it came as.
      const appended = await streams.appendOnceMany(EVENT_LOG_KEY, events.map((event) => ({ fields: fieldsOf(event), once: { key: loggedKey(event.id), ttlMs } })), trimming);
      events.forEach((event, i) => (appended[i] !== undefined ? deps.metrics.eventsConsumed.inc({ group, type: event.type }) : deps.metrics.eventsDuplicate.inc({ group })));
    },
    deps.topic === undefined ? {} : { topic: deps.topic },
  );

  const loop = (async () => {
    while (!closed) {
      try {
        for (const entry of await reader.read(EVENT_LOG_KEY, last, { count: 500, blockMs: 1_000 })) {
          last = entry.id;
          const logged = toLogged(entry);
          for (const listener of listeners) listener(logged);
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
      return (await replayer.range(EVENT_LOG_KEY, { after: position, count })).map(toLogged);
    },
    async check(position) {
      // The client's own last entry still there: everything after it is too (trimming takes the oldest).
      if ((await replayer.get(EVENT_LOG_KEY, position)) !== undefined) return { state: 'kept', newest: position };
      const { last: newest, first: oldest, added, length } = await replayer.info(EVENT_LOG_KEY);
      if (newest === undefined) return { state: position === '0-0' ? 'kept' : 'unknown', newest };
      if (isAfter(position, newest)) return { state: 'unknown', newest };
      // Before the oldest entry of a log that has lost entries (the store counts them): events between are gone.
      const hasLost = added > length;
      return { state: hasLost && oldest !== undefined && isAfter(oldest, position) ? 'trimmed' : 'kept', newest };
    },
    tail(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      await writer.close();
      reader.close();
      replayer.close();
      await loop;
    },
  };
}
