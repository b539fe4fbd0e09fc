/** The fields of one entry, in order. */
export type StreamFields = Readonly<Record<string, string>>;

/**
 * One entry of a stream. Ids are `<ms>-<seq>`, increasing within a stream (compare them as two
 * numbers); they are positions a reader resumes from.
 */
export interface StreamEntry {
  readonly id: string;
  readonly fields: StreamFields;
}

/** What a stream holds now. */
export interface StreamInfo {
  readonly length: number;
  readonly first?: string;
  readonly last?: string;
  /** Entries ever appended, trimmed ones included. */
  readonly added: number;
}

/** Reading streams. */
export interface StreamReads {
  /** Entries after `after` (exclusive; from the start when absent), oldest first, at most `count`. */
  range(stream: string, options: { readonly after?: string; readonly count: number }): Promise<StreamEntry[]>;
  /** The entry with this id, if the stream still has it. */
  get(stream: string, id: string): Promise<StreamEntry | undefined>;
  /** The newest entry, if any. */
  newest(stream: string): Promise<StreamEntry | undefined>;
  info(stream: string): Promise<StreamInfo>;
  length(stream: string): Promise<number>;
}

/** Reads of its own (on Redis, a connection of its own, so that nothing waits behind them). */
export interface StreamReader extends StreamReads {
  /** Entries after `after`, oldest first, waiting up to `blockMs` for one to come; [] when none came. */
  read(stream: string, after: string, options: { readonly count: number; readonly blockMs: number }): Promise<StreamEntry[]>;
  /** Ends its reads, pending ones too, even when the store is away: a waiting `read` answers [], and no read waits past it. */
  close(): void;
}

/** Append-only logs (the outbox's buckets, the cluster's event log). Each call is atomic. */
export interface StreamStore extends StreamReads {
  /** Whether the store is reachable now. */
  isUp(): boolean;
  /** Appends every entry, each to its stream, all or none; answers their ids in order. `maxLength` trims (about) the oldest. */
  append(entries: readonly { readonly stream: string; readonly fields: StreamFields }[], options?: { readonly maxLength?: number }): Promise<string[]>;
  /** Appends unless `once.key` is marked, and marks it for `once.ttlMs`, in one step: the id, or undefined for a repeat. */
  /**
   * `maxAgeMs` trims (about) the entries older than that, by the store's clock; `maxLength`, kept
   * as well, caps their number.
   */
  appendOnce(stream: string, fields: StreamFields, once: { readonly key: string; readonly ttlMs: number }, options?: { readonly maxLength?: number; readonly maxAgeMs?: number }): Promise<string | undefined>;
  /**
   * `appendOnce` for several entries, in order, each once (on Redis one pipeline: one round trip):
   * the id of each, or undefined for a repeat. Not all or none: a failure part way leaves the
   * entries before it appended and marked, so a retry appends only the rest.
   */
  appendOnceMany(stream: string, entries: readonly { readonly fields: StreamFields; readonly once: { readonly key: string; readonly ttlMs: number } }[], options?: { readonly maxLength?: number; readonly maxAgeMs?: number }): Promise<(string | undefined)[]>;
  /** Deletes entries by id: how many were there. */
  remove(stream: string, ids: readonly string[]): Promise<number>;
  /** `range` of several streams at once (on Redis one pipeline: one write, one round trip), answered in order. */
  rangeMany(reads: readonly { readonly stream: string; readonly count: number }[]): Promise<StreamEntry[][]>;
  /** `remove` in several streams at once (on Redis one pipeline), how many were there in each, in order. */
  removeMany(removals: readonly { readonly stream: string; readonly ids: readonly string[] }[]): Promise<number[]>;
  /**
   * Moves one entry to the end of another stream, with `extra` fields added, in one step: false
   * when the entry is no longer there (another reader moved or removed it first), and then
   * nothing is appended. Both streams must share a slot on a Cluster (one hash tag).
   */
  move(from: string, id: string, to: string, extra: StreamFields): Promise<boolean>;
  /**
   * A reader for blocking reads and for reads that may take longer than a command (a page of
   * large entries): `timeoutMs` bounds each of its reads (none when absent), so a reader that
   * blocks must block for less.
   */
  reader(options?: { readonly timeoutMs?: number }): StreamReader;
}
