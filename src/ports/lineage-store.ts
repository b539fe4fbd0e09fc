import type { BusinessKey, LineageEntry, UnderstandingEntry } from '../modules/lineage/lineage.types.ts';

/** One page of a lineage listing, newest first; follow `next`. */
export interface LineagePage<T> {
  readonly items: readonly T[];
  readonly next?: string;
}

/**
 * Lineage, kept durably with a retention (Redis): every attributed call, indexed both ways — by
 * conversation (what it caused, message by message) and by business record (who touched it).
 * Each record is also published as a `lineage.*` event on Kafka (through the outbox).
 */
export interface LineageStore {
  /** Stores a call's entry and indexes it under its conversation and under each of its keys. Idempotent by `entry.id`. */
  record(entry: LineageEntry): Promise<void>;
  /** Stores what the bot made of a message (indexed under its conversation). Idempotent by `entry.id`. */
  understood(entry: UnderstandingEntry): Promise<void>;
  /** A conversation's entries (calls and understandings), oldest first, so a trace reads in order. */
  byConversation(conversationId: string, page: { limit: number; cursor?: string }): Promise<LineagePage<LineageEntry | UnderstandingEntry>>;
  /** The calls that read or changed one record, newest first. */
  byRecord(key: Pick<BusinessKey, 'system' | 'id'>, page: { limit: number; cursor?: string }): Promise<LineagePage<LineageEntry>>;
}
