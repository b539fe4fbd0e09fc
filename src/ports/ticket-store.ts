/**
 * Short-lived single-use values (WebSocket tickets): put with a time to live, taken at most once.
 * Shared by every gateway node, so a ticket made on one is redeemed on any.
 */
export interface TicketStore {
  put(id: string, value: string, ttlMs: number): Promise<void>;
  /** The value, removed in the same step: a second take of the same id gets nothing. */
  take(id: string): Promise<string | undefined>;
}
