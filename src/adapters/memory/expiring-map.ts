/** A map whose entries lapse after their time; expired entries are dropped when touched. */
export interface ExpiringMap<V> {
  get(key: string): V | undefined;
  /** Keeps `value` for `ttlMs` (forever when absent). */
  set(key: string, value: V, ttlMs?: number): void;
  delete(key: string): boolean;
}

/** `now` is the clock the entries age by (tests may pass their own). */
export function createExpiringMap<V>(now: () => number = Date.now): ExpiringMap<V> {
  const entries = new Map<string, { value: V; until: number }>();
  const live = (key: string) => {
    const entry = entries.get(key);
    if (entry && entry.until <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  return {
    get: (key) => live(key)?.value,
    set(key, value, ttlMs) {
      // Touching one key sweeps the lapsed ones now and then, so the map stays bounded by what lives.
      if (entries.size > 0 && entries.size % 1_000 === 0) for (const k of [...entries.keys()]) live(k);
      entries.set(key, { value, until: ttlMs === undefined ? Infinity : now() + ttlMs });
    },
    delete: (key) => live(key) !== undefined && entries.delete(key),
  };
}
