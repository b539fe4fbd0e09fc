import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../kernel/errors.ts';
import type { RateLimiter } from '../../ports/rate-limiter.ts';
import { principalOf } from '../http/request-context.ts';
import type { Metrics } from '../observability/metrics.ts';

/**
 * Limits requests per API key (its principal), counted across gateway nodes through the
 * limiter. Answers carry RateLimit-Limit/Remaining; a refused one is 429 with Retry-After.
 */
export function createKeyRateLimit(deps: { limiter: RateLimiter; limit: number; windowMs: number; metrics: Metrics }) {
  return async (_req: Request, res: Response, next: NextFunction): Promise<void> => {
    const principal = principalOf(res).name;
    const allowance = await deps.limiter.consume(`key:${principal}`, deps.limit, deps.windowMs);
    res.setHeader('ratelimit-limit', String(deps.limit));
    res.setHeader('ratelimit-remaining', String(allowance.remaining));
    if (allowance.allowed) return next();
    deps.metrics.rateLimited.inc({ scope: 'key' });
    next(new AppError('RATE_LIMITED', `the key ${principal} made more than ${deps.limit} requests in ${deps.windowMs} ms`, { retryAfterMs: allowance.retryAfterMs }));
  };
}
