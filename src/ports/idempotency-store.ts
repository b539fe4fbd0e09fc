/** A record guarded by a token: only the holder of the token may replace it or let it go. */
export interface GuardedRecord {
  readonly token: string;
}

/**
 * Records of idempotency keys (and other first-come claims) with an expiry. Each operation is
 * atomic; a store that cannot answer rejects, and the caller decides what that means.
 */
export interface IdempotencyStore {
  /** Whether the store is reachable now. */
  isUp(): boolean;
  /** Stores `record` under `key` for `ttlMs` unless the key holds one: true when stored (the caller holds it). */
  claim<R extends GuardedRecord>(key: string, record: R, ttlMs: number): Promise<boolean>;
  /** The record under `key`, or undefined. */
  read<R extends GuardedRecord>(key: string): Promise<R | undefined>;
  /** Replaces the record for `ttlMs`, only while the stored one carries `token`: true when replaced. */
  replace<R extends GuardedRecord>(key: string, token: string, record: R, ttlMs: number): Promise<boolean>;
  /** Deletes the record, only while it carries `token`: true when deleted. */
  release(key: string, token: string): Promise<boolean>;
}
