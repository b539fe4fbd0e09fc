import type { Allowance, RateLimiter } from '../../ports/rate-limiter.ts';
import type { RedisHandle } from './redis-client.ts';

// Add this node's count to the window's cluster total and read the total back, in one round trip.
const ADD = `
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
if total == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return total`;

export interface RedisRateLimiterOptions {
  readonly prefix?: string;
  /** How often this node sends its counts and reads the cluster's (`OMNIGATE_RATE_LIMIT_SYNC_MS`). */
  readonly syncMs: number;
  readonly now?: () => number;
}

/** A rate limiter that counts locally and reconciles with Redis in the background. */
export interface SyncedRateLimiter extends RateLimiter {
  /** Sends the counts not yet sent and reads the cluster's totals now (the timer does it every syncMs). */
  sync(): Promise<void>;
  /** Stops the timer after a last sync. */
  close(): Promise<void>;
}

/** One key's fixed window as this node sees it. */
interface Window {
  readonly redisKey: string;
  readonly start: number;
  readonly windowMs: number;
  /** The cluster's total as Redis last told it (this node's sent counts included). */
  shared: number;
  /** Admitted here, not yet sent. */
  pending: number;
  /** Sent, their total not yet back. */
  sending: number;
  /** Asked since the last sync: only such windows are synced (an idle key costs Redis nothing). */
  touched: boolean;
}

/** The cluster's rate for one key: two totals read from Redis, and when. */
interface Rate {
  total: number;
  at: number;
  start: number;
  perMs: number | undefined;
}

/**
 * Fixed-window counts shared by every gateway node, decided locally and reconciled with Redis in
 * batches (as Envoy's and Kong's cluster-wide limiters do) instead of a round trip per request.
 *
 * Every `syncMs` the node adds what it admitted to each window's total in Redis (one pipelined
 * INCRBY per window) and reads the total back; from two totals it knows the cluster's rate for the
 * key. A request is admitted locally while the window's known total plus what the cluster can add
 * before the next sync (its rate over two sync intervals) stays under the limit; nearer the limit,
 * or before the rate is known, the request is counted in Redis there and then, exactly. A refusal
 * needs no Redis at all once the total is known to be past the limit.
 *
 * Maximum overshoot (docs/scaling.md, "Rate limits across nodes"): none while the cluster's rate is
 * steady; at most what the cluster admits above its measured rate within a sync interval and a
 * round trip; never more than (nodes − 1) × limit, since each node alone never admits past it.
 * If Redis cannot answer, each node counts alone (limits loosen to per node) and sends its counts
 * once Redis is back.
 */
export function createRedisRateLimiter(redis: RedisHandle, options: RedisRateLimiterOptions): SyncedRateLimiter {
  const prefix = options.prefix ?? 'omnigate:rl:';
  const now = options.now ?? Date.now;
  const windows = new Map<string, Window>();
  const rates = new Map<string, Rate>();

  const windowOf = (key: string, windowMs: number, t: number): Window => {
    const start = t - (t % windowMs);
    let window = windows.get(key);
    if (!window || window.start !== start || window.windowMs !== windowMs) {
      window = { redisKey: `${prefix}${key}:${start}`, start, windowMs, shared: 0, pending: 0, sending: 0, touched: false };
      windows.set(key, window);
    }
    return window;
  };
  const used = (w: Window) => w.shared + w.pending + w.sending;
  const answer = (w: Window, limit: number, count: number, t: number): Allowance => {
    const allowed = count <= limit;
    return { allowed, remaining: Math.max(0, limit - count), retryAfterMs: allowed ? 0 : w.start + w.windowMs - t };
  };

  /** Adds `amount` to the window's total in Redis; resolves the total, or undefined if Redis did not answer. */
  const add = async (key: string, w: Window, amount: number): Promise<number | undefined> => {
    w.sending += amount;
    try {
      const total = Number(await redis.client.eval(ADD, 1, w.redisKey, String(amount), String(w.windowMs + 1_000)));
      w.sending -= amount;
      // Totals only grow within a window; a late answer never lowers what is known.
      w.shared = Math.max(w.shared, total);
      learnRate(key, w, total);
      return total;
    } catch {
      // Not counted in Redis: kept to send with the next sync.
      w.sending -= amount;
      w.pending += amount;
      return undefined;
    }
  };
  const learnRate = (key: string, w: Window, total: number) => {
    const at = now();
    const rate = rates.get(key);
    if (!rate || rate.start !== w.start) {
      // A first total, or a new window's: the rate is known from the next one (or carried over).
      rates.set(key, { total, at, start: w.start, perMs: rate?.perMs });
      return;
    }
    if (at - rate.at < options.syncMs / 2) return;
    rate.perMs = (total - rate.total) / (at - rate.at);
    rate.total = total;
    rate.at = at;
  };

  const sync = async () => {
    const t = now();
    // A rate not refreshed lately says nothing of now: that key is counted exactly until it is again.
    for (const [key, rate] of rates) if (rate.at < t - 3 * options.syncMs) rates.delete(key);
    const sends: Promise<unknown>[] = [];
    for (const [key, w] of windows) {
      // Over: what it did not send no longer matters to anyone.
      if (w.start + w.windowMs <= t) windows.delete(key);
      else if ((w.touched || w.pending > 0) && redis.isUp()) {
        const amount = w.pending;
        w.pending = 0;
        w.touched = false;
        sends.push(add(key, w, amount));
      }
    }
    await Promise.all(sends);
  };
  let syncing: Promise<void> | undefined;
  const timer = setInterval(() => {
    syncing ??= sync().finally(() => (syncing = undefined));
  }, options.syncMs);
  timer.unref();

  return {
    async consume(key, limit, windowMs): Promise<Allowance> {
      const t = now();
      const w = windowOf(key, windowMs, t);
      w.touched = true;
      const count = used(w);
      if (count >= limit) return answer(w, limit, count + 1, t);
      const perMs = rates.get(key)?.perMs;
      const margin = perMs === undefined ? Infinity : Math.ceil(perMs * 2 * options.syncMs);
      if (count + 1 + margin <= limit || !redis.isUp()) {
        w.pending += 1;
        return answer(w, limit, count + 1, t);
      }
      // Near the limit (or the cluster's rate not yet known): counted in Redis, exactly.
      const amount = w.pending + 1;
      w.pending = 0;
      const total = await add(key, w, amount);
      return answer(w, limit, total ?? used(w), t);
    },
    sync,
    async close() {
      clearInterval(timer);
      await syncing;
      await sync();
    },
  };
}
