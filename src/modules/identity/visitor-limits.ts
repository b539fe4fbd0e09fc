import type { VisitorLimitsConfig } from '../../config/identity-config.ts';
import { AppError } from '../../kernel/errors.ts';
import type { VisitorPrincipal } from '../../kernel/principal.ts';
import type { RateLimiter } from '../../ports/rate-limiter.ts';
import type { Metrics } from '../observability/metrics.ts';

/**
 * What visitors may open, per client address and per site, counted across nodes by the rate
 * limiter. The address is counted first: an address over its limit does not use up its site's.
 */
export interface VisitorLimits {
  /** Before a widget session is opened; throws RATE_LIMITED (with retryAfterMs). */
  session(site: string, ip: string): Promise<void>;
  /**
   * Before a visitor starts a conversation (POST /v1/conversations, the socket's
   * `conversation.start`); throws RATE_LIMITED (with retryAfterMs). `ip`: the request's `req.ip`,
   * or the upgrade request's socket address.
   */
  conversationStart(visitor: VisitorPrincipal, ip: string): Promise<void>;
}

export interface VisitorLimitsDeps {
  readonly limiter: RateLimiter;
  readonly limits: VisitorLimitsConfig;
  readonly metrics: Metrics;
}

export function createVisitorLimits(deps: VisitorLimitsDeps): VisitorLimits {
  const { limits } = deps;
  async function take(kind: 'sessions' | 'starts', scope: 'ip' | 'site', who: string, limit: number, what: string): Promise<void> {
    const allowance = await deps.limiter.consume(`visitor-${kind}:${scope}:${who}`, limit, limits.windowMs);
    if (allowance.allowed) return;
    deps.metrics.rateLimited.inc({ scope: `visitor-${kind}-${scope}` });
    throw new AppError('RATE_LIMITED', `${what} ${who} opened more than ${limit} ${kind === 'sessions' ? 'widget sessions' : 'conversations'} in ${limits.windowMs} ms`, {
      retryAfterMs: allowance.retryAfterMs, scope: scope === 'ip' ? 'per-ip' : 'per-site',
    });
  }
  return {
    async session(site, ip) {
      await take('sessions', 'ip', ip, limits.sessionsPerIp, 'the address');
      await take('sessions', 'site', site, limits.sessionsPerSite, 'the site');
    },
    async conversationStart(visitor, ip) {
      await take('starts', 'ip', ip, limits.conversationStartsPerIp, 'the address');
      await take('starts', 'site', visitor.site, limits.conversationStartsPerSite, 'the site');
    },
  };
}
