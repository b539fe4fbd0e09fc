/**
 * Marks of what was handled already (event ids per consumer group, inbound deliveries), each for a
 * while. Delivery is at least once; these marks are how a consumer drops a repeat.
 */
export interface DedupeStore {
  /** Whether the store is reachable now. */
  isUp(): boolean;
  has(key: string): Promise<boolean>;
  /** Marks `key` as handled for `ttlMs`. */
  mark(key: string, ttlMs: number): Promise<void>;
  /** `has` of several keys at once (on Redis one round trip), answered in order. */
  hasMany(keys: readonly string[]): Promise<boolean[]>;
  /** `mark` of several keys at once (on Redis one round trip). */
  markMany(keys: readonly string[], ttlMs: number): Promise<void>;
  /** Marks `key` unless it is marked, atomically: true when this call marked it (it is the first). */
  markFirst(key: string, ttlMs: number): Promise<boolean>;
}
