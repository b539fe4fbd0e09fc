/**
 * Chat delivery between gateway nodes, through Redis (never Kafka, which is for the world
 * outside). Stored events are published by the store's append itself (see ConversationStore);
 * signals are what is never stored (typing, presence). Delivery is at most once: a node that
 * misses a message (its subscription dropped) notices the gap in `seq` and reads it from the store.
 */
export type FanoutMessage =
  | { readonly kind: 'event'; readonly conversationId: string; readonly seq: number; /** The stored event as JSON, framed once for every socket. */ readonly json: string }
  | { readonly kind: 'signal'; readonly topic: string; readonly payload: unknown };

export interface ChatFanout {
  /** Every message from every node (this one included), until closed. Resolves once subscribed. */
  subscribe(handler: (message: FanoutMessage) => void): Promise<{ close(): Promise<void> }>;
  /** Sends a signal to every node (this one included). */
  signal(topic: string, payload: unknown): Promise<void>;
  /** Called after a dropped subscription came back: messages may have been missed meanwhile. */
  onResubscribed(listener: () => void): void;
}
