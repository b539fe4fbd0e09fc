/** The answer of a rate limiter for one request. */
export interface Allowance {
  readonly allowed: boolean;
  /** When refused: how long until the window frees up. */
  readonly retryAfterMs: number;
  readonly remaining: number;
}

/**
 * Counts requests per key in fixed windows. The Redis adapter shares the count across gateway
 * nodes; when Redis is unreachable it falls back to a per-node count rather than failing.
 */
export interface RateLimiter {
  consume(key: string, limit: number, windowMs: number): Promise<Allowance>;
}
