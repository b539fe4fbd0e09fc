import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../../kernel/logger.ts';
import type { ChatFanout, FanoutMessage } from '../../ports/chat-fanout.ts';
import { subscribeRedis, type RedisSubscription } from './redis-subscriber.ts';

/** Where the conversation store's append publishes each stored event. */
export const FANOUT_EVENTS_CHANNEL = 'omnigate:chat:events';
/** Where signals (typing, presence: never stored) go. */
export const FANOUT_SIGNALS_CHANNEL = 'omnigate:chat:signals';

/**
 * The message the append publishes for one event: `{"c":<conversation id>,"s":<seq>,"e":<event>}`
 * with the stored JSON spliced in as it is, so a subscriber can take it back byte for byte.
 */
export const eventMessage = (conversationId: string, seq: number, json: string): string => `{"c":${JSON.stringify(conversationId)},"s":${seq},"e":${json}}`;

/**
 * The message of `eventMessage`, its event JSON cut out unchanged; undefined when it is not one.
 * Only the head (`{"c":…,"s":…`) is parsed: the event itself is the subscribers' to parse, once.
 */
export function parseEventMessage(message: string): FanoutMessage | undefined {
  // `,"e":` cannot occur inside the id: JSON escapes every quote in a string.
  const at = message.indexOf(',"e":');
  if (at < 0 || !message.endsWith('}')) return undefined;
  try {
    const { c, s } = JSON.parse(`${message.slice(0, at)}}`) as { c?: unknown; s?: unknown };
    if (typeof c !== 'string' || typeof s !== 'number') return undefined;
    return { kind: 'event', conversationId: c, seq: s, json: message.slice(at + 5, -1) };
  } catch {
    return undefined;
  }
}

/** The Redis fan-out, and the way in for the events this node appended itself. */
export interface RedisChatFanout extends ChatFanout {
  /**
   * Hands events this node has just appended (durably) to its own subscribers at once, without
   * the round trip through Redis: the same events come again by pub/sub, and subscribers drop
   * what they have (by seq). Other nodes hear of them by pub/sub only.
   */
  deliverAppended(conversationId: string, events: readonly { readonly seq: number; readonly json: string }[]): void;
}

export interface RedisChatFanoutDeps {
  /** The shared connection: signals are published on it, and the subscriber is its duplicate. */
  readonly client: Redis | Cluster;
  readonly log: Logger;
}

/**
 * Chat fan-out over Redis pub/sub, on a subscriber connection of its own (a subscribed
 * connection can do nothing else). The events come from the store's append script; signals from
 * `signal`. When the subscriber's connection drops and comes back, it subscribes again and then
 * tells `onResubscribed` listeners: what was published meanwhile is lost, and they read the gap
 * from the store.
 */
export function createRedisChatFanout(deps: RedisChatFanoutDeps): RedisChatFanout {
  const log = deps.log.child({ module: 'chat-fanout' });
  const handlers = new Set<(message: FanoutMessage) => void>();
  const resubscribed: (() => void)[] = [];
  let ready: Promise<RedisSubscription> | undefined;

  const deliver = (channel: string, message: string) => {
    const parsed = channel === FANOUT_EVENTS_CHANNEL ? parseEventMessage(message) : parseSignal(message);
    if (!parsed) return log.warn({ channel }, 'chat fan-out message not understood: dropped');
    handOut(parsed);
  };
  const handOut = (parsed: FanoutMessage) => {
    for (const handler of handlers) {
      try {
        handler(parsed);
      } catch (err) {
        log.error({ err }, 'chat fan-out handler failed');
      }
    }
  };

  /** Connects the subscriber once, for every subscription. */
  function connect(): Promise<RedisSubscription> {
    ready ??= subscribeRedis({
      client: deps.client, channels: [FANOUT_EVENTS_CHANNEL, FANOUT_SIGNALS_CHANNEL], log, whileLost: 'events from other nodes are read from the store once it is back',
      onMessage: deliver, onResubscribed: () => resubscribed.forEach((listener) => listener()),
    });
    return ready;
  }

  return {
    async subscribe(handler) {
      const own = (message: FanoutMessage) => handler(message);
      handlers.add(own);
      try {
        await connect();
      } catch (err) {
        handlers.delete(own);
        ready = undefined;
        throw err;
      }
      return {
        async close() {
          handlers.delete(own);
          if (handlers.size > 0 || !ready) return;
          const closing = ready;
          ready = undefined;
          await (await closing).close();
        },
      };
    },
    async signal(topic, payload) {
      await deps.client.publish(FANOUT_SIGNALS_CHANNEL, JSON.stringify({ t: topic, p: payload ?? null }));
    },
    onResubscribed: (listener) => void resubscribed.push(listener),
    deliverAppended(conversationId, events) {
      for (const { seq, json } of events) handOut({ kind: 'event', conversationId, seq, json });
    },
  };
}

function parseSignal(message: string): FanoutMessage | undefined {
  try {
    const { t, p } = JSON.parse(message) as { t?: unknown; p?: unknown };
    return typeof t === 'string' ? { kind: 'signal', topic: t, payload: p } : undefined;
  } catch {
    return undefined;
  }
}
