/**
 * Where conversations live as events. The store is generic in the event it keeps: it reads and
 * writes `seq`, `id`, `type` and `at`, and carries the rest as JSON. One conversation is one
 * append-only stream numbered 1, 2, 3 … with no gaps.
 */
export interface StoredEventBase {
  /** 1-based position in the conversation's stream. */
  readonly seq: number;
  /** Unique id (the CloudEvent id on Kafka). */
  readonly id: string;
  /** `conversation.*` */
  readonly type: string;
  /** RFC 3339 UTC. */
  readonly at: string;
}

/** An event before the store numbers it. */
export type UnnumberedEvent<E extends StoredEventBase> = E extends unknown ? Omit<E, 'seq'> : never;

/** One append: the events a command decided, written in one atomic step with their outbox entries. */
export interface AppendInput<E extends StoredEventBase> {
  readonly conversationId: string;
  /** The seq of the last event the caller folded (0 for a conversation not yet started): the append fails with `conflict` if the stream has moved on. */
  readonly expectedSeq: number;
  /** Numbered expectedSeq + 1, + 2 … in this order. At least one. */
  readonly events: readonly UnnumberedEvent<E>[];
  /**
   * When given, the append is idempotent by it: a repeat appends nothing and answers `duplicate`
   * with the seq the first append ended at (checked before the expected seq). Kept as long as the stream.
   */
  readonly clientId?: string;
  /** The caller's fold of the stream after these events, cached with them in the same step (never the other way round). */
  readonly snapshot: unknown;
  /**
   * The list indexes (`state:queued`, `agent:a-1`, `group:billing`, `customer:C-1`, `visitor:v-1` …)
   * the conversation leaves and joins with this append; `score` orders the lists (epoch ms).
   */
  readonly index?: { readonly add: readonly string[]; readonly remove: readonly string[]; readonly score: number };
  /** Set: the stream (not its snapshot) is removed this long after this append (a closed conversation). Absent: kept. */
  readonly expireAfterMs?: number;
}

export type AppendResult<E extends StoredEventBase> =
  | { readonly outcome: 'appended'; readonly seq: number; readonly events: readonly E[] }
  | { readonly outcome: 'duplicate'; readonly seq: number }
  | { readonly outcome: 'conflict'; readonly seq: number };

/** What is known of a conversation without reading its stream. */
export interface ConversationHead {
  /** The seq of its last event. */
  readonly seq: number;
  /** The snapshot stored with the last append. */
  readonly snapshot: unknown;
  /** False once its stream was removed (retention after close): only the snapshot is left. */
  readonly hasStream: boolean;
}

export interface ConversationStore<E extends StoredEventBase> {
  /**
   * Appends atomically: the events, their outbox entries (Kafka), the snapshot, the index moves and
   * the client id, all or nothing; and publishes them to every node (see ChatFanout).
   */
  append(input: AppendInput<E>): Promise<AppendResult<E>>;
  /** Events with afterSeq < seq ≤ untilSeq, oldest first, at most `limit`. Empty once the stream is removed. */
  read(conversationId: string, range?: { readonly afterSeq?: number; readonly untilSeq?: number; readonly limit?: number }): Promise<E[]>;
  head(conversationId: string): Promise<ConversationHead | undefined>;
  /** Conversation ids in one index, newest score first, paged by an opaque cursor. */
  list(index: string, page: { readonly limit: number; readonly cursor?: string }): Promise<{ readonly ids: string[]; readonly next?: string }>;
  /** How many conversations an index holds. */
  count(index: string): Promise<number>;
  isUp(): boolean;
}
