import type { Allowance, RateLimiter } from '../../ports/rate-limiter.ts';
import { createMemoryRateLimiter } from '../memory/memory-rate-limiter.ts';
import type { RedisHandle } from './redis-client.ts';

// INCR and set the window's expiry in one round trip, atomically.
const CONSUME = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count`;

/**
 * Fixed-window counts in Redis, shared by every gateway node. If Redis cannot answer, the
 * count falls back to this node's own, so limits loosen (per node) but requests still flow.
 */
export function createRedisRateLimiter(redis: RedisHandle, prefix = 'omnigate:rl:'): RateLimiter {
  const local = createMemoryRateLimiter();
  return {
    async consume(key, limit, windowMs): Promise<Allowance> {
      if (!redis.isUp()) return local.consume(key, limit, windowMs);
      const now = Date.now();
      const start = now - (now % windowMs);
      try {
        const count = Number(await redis.client.eval(CONSUME, 1, `${prefix}${key}:${start}`, String(windowMs + 1_000)));
        const allowed = count <= limit;
        return { allowed, remaining: Math.max(0, limit - count), retryAfterMs: allowed ? 0 : start + windowMs - now };
      } catch {
        return local.consume(key, limit, windowMs);
      }
    },
  };
}
