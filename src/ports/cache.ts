/** A stored value with when it was stored. */
export interface CacheEntry<T> {
  readonly value: T;
  readonly storedAt: number;
}

/**
 * The last good answers of reads, for stale fallback. Best effort by contract: a cache that is
 * unreachable answers misses and drops writes, it never fails the call that uses it.
 */
export interface StaleCache {
  get<T>(key: string): Promise<CacheEntry<T> | undefined>;
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
}

/** Whether a shared store (Redis) is reachable now, for /readyz. */
export interface StoreHealth {
  readonly name: string;
  isUp(): boolean;
  /** Why a store that is up is still not well (near its memory limit, say); undefined when it is. */
  warning?(): Promise<string | undefined>;
}
