import type { Allowance, RateLimiter } from '../../ports/rate-limiter.ts';

/** Fixed windows counted in this process: one node's view, used alone or when Redis is down. */
export function createMemoryRateLimiter(now: () => number = Date.now): RateLimiter {
  const windows = new Map<string, { start: number; count: number }>();
  return {
    async consume(key, limit, windowMs): Promise<Allowance> {
      const t = now();
      const start = t - (t % windowMs);
      let window = windows.get(key);
      if (!window || window.start !== start) {
        window = { start, count: 0 };
        windows.set(key, window);
        if (windows.size > 10_000) for (const [k, w] of windows) if (w.start < start) windows.delete(k);
      }
      window.count += 1;
      const allowed = window.count <= limit;
      return { allowed, remaining: Math.max(0, limit - window.count), retryAfterMs: allowed ? 0 : start + windowMs - t };
    },
  };
}
