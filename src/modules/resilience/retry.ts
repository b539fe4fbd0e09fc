import { isAppError } from '../../kernel/errors.ts';

/**
 * A retry budget (after Finagle's): every call deposits `percent`/100 of a token, every retry
 * spends one, and `minPerSec` tokens trickle in regardless. During an outage retries stop once
 * the budget is spent, so they cannot multiply the load on a failing backend.
 */
export interface RetryBudget {
  /** Records a first attempt. */
  deposit(): void;
  /** True (and spends a token) when a retry is allowed now. */
  tryWithdraw(): boolean;
  readonly exhausted: number;
}

export function createRetryBudget(options: { percent: number; minPerSec: number; now?: () => number }): RetryBudget {
  const now = options.now ?? Date.now;
  // Tokens are counted in hundredths so that percentages add up exactly (the trickle is fractional). The balance never
  // exceeds ten seconds' worth of the minimum (Finagle's default TTL), so a long quiet spell
  // cannot save up a burst of retries for the next outage.
  const ONE = 100;
  const cap = Math.max(10, options.minPerSec * 10) * ONE;
  let tokens = cap;
  let last = now();
  let exhausted = 0;
  const refill = (): void => {
    const t = now();
    tokens = Math.min(cap, tokens + ((t - last) * options.minPerSec * ONE) / 1000);
    last = t;
  };
  return {
    deposit() {
      refill();
      tokens = Math.min(cap, tokens + options.percent);
    },
    tryWithdraw() {
      refill();
      if (tokens >= ONE - 1e-6) {
        tokens -= ONE;
        return true;
      }
      exhausted += 1;
      return false;
    },
    get exhausted() {
      return exhausted;
    },
  };
}

/** Backoff before retry `attempt` (1-based): exponential with full jitter, or the backend's Retry-After, capped. */
export function retryDelayMs(
  attempt: number,
  err: unknown,
  options: { baseMs: number; maxDelayMs: number; retryAfterCapMs: number },
  random: () => number = Math.random,
): number {
  const retryAfter = isAppError(err) ? err.extensions.retryAfterMs : undefined;
  if (typeof retryAfter === 'number' && retryAfter >= 0) return Math.min(retryAfter, options.retryAfterCapMs);
  const ceiling = Math.min(options.maxDelayMs, options.baseMs * 2 ** (attempt - 1));
  return Math.round(random() * ceiling);
}

/** Only failures that another try may fix are retried. */
export function isRetryable(err: unknown): boolean {
  return isAppError(err) && err.code === 'UPSTREAM_UNAVAILABLE' && err.extensions.abandoned !== true;
}

/** Waits `ms`, or rejects as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
