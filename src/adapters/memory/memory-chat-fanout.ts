import type { ChatFanout, FanoutMessage } from '../../ports/chat-fanout.ts';

/** The fan-out within one process, with `publish` for the memory conversation store to call on append. */
export interface MemoryChatFanout extends ChatFanout {
  /** Hands a message to every subscriber, after the current step (as Redis pub/sub would), in order. */
  publish(message: FanoutMessage): void;
}

/** Chat fan-out within one process (the unit tier, a single node): it never drops, so never resubscribes. */
export function createMemoryChatFanout(): MemoryChatFanout {
  const handlers = new Set<(message: FanoutMessage) => void>();
  // Kept for the port's sake: a subscription in one process is never dropped, so they are never called.
  const resubscribed: (() => void)[] = [];
  const publish = (message: FanoutMessage) => {
    // A snapshot of the subscribers now: one that subscribes later does not see what was sent before.
    const now = [...handlers];
    queueMicrotask(() => {
      for (const handler of now) if (handlers.has(handler)) handler(message);
    });
  };
  return {
    publish,
    async subscribe(handler) {
      // Wrapped, so that the same function subscribed twice is two subscriptions.
      const own = (message: FanoutMessage) => handler(message);
      handlers.add(own);
      return { close: async () => void handlers.delete(own) };
    },
    async signal(topic, payload) {
      // Through JSON, as through Redis: the subscriber gets a copy with what JSON keeps.
      publish({ kind: 'signal', topic, payload: JSON.parse(JSON.stringify(payload ?? null)) as unknown });
    },
    onResubscribed: (listener) => void resubscribed.push(listener),
  };
}
