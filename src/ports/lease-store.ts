/**
 * Leases: work that one node at a time must do (poll a connector, relay an outbox bucket) is held
 * by a holder for a while and renewed; a holder that dies lets it lapse. Times are the store's.
 */
export interface LeaseStore {
  /** Whether the store is reachable now. */
  isUp(): boolean;
  /** Takes `key` for `holder` if free, or extends it if `holder` has it: true when it is held now. */
  acquire(key: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Lets go of `key` only if `holder` has it: true when released. */
  release(key: string, holder: string): Promise<boolean>;
  /** Who holds `key` now, if anyone. */
  holder(key: string): Promise<string | undefined>;
  /**
   * Says `member` of `group` lives for `ttlMs` more, forgets members whose time ran out and
   * answers the live members, sorted.
   */
  heartbeat(group: string, member: string, ttlMs: number): Promise<string[]>;
  /** Takes `member` out of `group` now. */
  leave(group: string, member: string): Promise<void>;
}

/** Where a reader stands in something it reads piece by piece (a connector's poll cursor). */
export interface CursorStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
}
