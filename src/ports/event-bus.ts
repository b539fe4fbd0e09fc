/** A CloudEvents 1.0 envelope (structured JSON); `partitionkey` orders events of one aggregate. */
export interface CloudEvent<T = unknown> {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  /** `noun.past_tense`: ticket.created, order.status_changed, connector.changed … */
  readonly type: string;
  readonly subject?: string;
  readonly time: string;
  readonly datacontenttype: 'application/json';
  /** The aggregate id: events with the same key are delivered in publish order. */
  readonly partitionkey: string;
  readonly traceparent?: string;
  readonly data: T;
}

export type EventHandler = (event: CloudEvent) => Promise<void>;
/** Several events at once, in the bus's order (per partition key, publish order). */
export type BatchHandler = (events: readonly CloudEvent[]) => Promise<void>;

export interface Subscription {
  /** Settles once the subscription receives events (it keeps retrying while the bus is away). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * The bus between the gateway, the systems around it, and gateway nodes. Every consumer group
 * sees every event; within a group each event goes to one member; events with the same
 * partitionkey arrive in publish order. Delivery is at least once: consumers drop ids they have
 * seen. A handler that throws gets the event again.
 */
export interface EventBus {
  /** Hands events to the bus, in order; resolves once the bus has them durably. */
  publish(events: readonly CloudEvent[], options?: { readonly topic?: string }): Promise<void>;
  /**
   * Joins `group`. A group new to the topic starts from the earliest event the bus still holds
   * (so it sees what was published before it first joined), unless `fromBeginning` is false;
   * a group that has been here before resumes after the last event it handled.
   */
  subscribe(group: string, handler: EventHandler, options?: { readonly topic?: string; readonly fromBeginning?: boolean }): Promise<Subscription>;
  /**
   * `subscribe` for a handler that takes what has arrived in one go (up to a bus's fetch): for a
   * consumer whose cost is per call (a round trip to a store). A handler that throws gets the
   * whole batch again, the events it had handled too.
   */
  subscribeBatches(group: string, handler: BatchHandler, options?: { readonly topic?: string; readonly fromBeginning?: boolean }): Promise<Subscription>;
  close(): Promise<void>;
}
