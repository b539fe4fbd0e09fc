/**
 * A wake-up for the outbox relays of every node: "these outbox streams have new entries". Not a
 * record of anything: a ring that is lost only waits for the relay's next poll.
 */
export interface OutboxBell {
  /** Tells every node (this one included) that these streams have new entries; best effort, never throws. */
  ring(streams: readonly string[]): void;
  /**
   * Hears every node's rings until closed; `onMissed` when rings may have been missed meanwhile
   * (the subscription dropped and came back). Resolves once listening.
   */
  listen(listener: { onRing(streams: readonly string[]): void; onMissed(): void }): Promise<{ close(): Promise<void> }>;
}
