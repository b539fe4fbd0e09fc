// Signature check plus replay protection for POST /rpc.
import { verify } from './signature.mjs';

export const ERR_BAD_SIGNATURE = -32001;
export const ERR_REPLAY = -32002;

const PRUNE_INTERVAL_MS = 1000;

/**
 * Creates the authenticator. `check(headers, rawBody)` returns
 * `{ ok: true }` or `{ ok: false, code, message }`.
 *
 * Signatures accepted within the window are remembered until their timestamp
 * leaves the window (timestamp + windowMs); after that the skew check rejects
 * them anyway, so expired entries are pruned and the set stays bounded by the
 * number of requests accepted in one window.
 */
export function createAuthenticator({ secret, windowMs, now = Date.now }) {
  const seen = new Map(); // lower-case hex signature -> expiry (epoch ms)
  let lastPrune = 0;

  function prune(t) {
    if (t - lastPrune < PRUNE_INTERVAL_MS) return;
    lastPrune = t;
    for (const [sig, expiry] of seen) {
      if (expiry < t) seen.delete(sig);
    }
  }

  function check(headers, rawBody) {
    const t = now();
    prune(t);
    const ts = headers['x-timestamp'];
    const signature = headers['x-signature'];
    if (typeof ts !== 'string' || typeof signature !== 'string') {
      return { ok: false, code: ERR_BAD_SIGNATURE, message: 'missing X-Timestamp or X-Signature header' };
    }
    if (!/^\d{1,16}$/.test(ts)) {
      return { ok: false, code: ERR_BAD_SIGNATURE, message: 'malformed X-Timestamp (epoch milliseconds expected)' };
    }
    if (!verify(secret, ts, rawBody, signature)) {
      return { ok: false, code: ERR_BAD_SIGNATURE, message: 'invalid signature' };
    }
    const timestamp = Number(ts);
    if (Math.abs(t - timestamp) > windowMs) {
      return { ok: false, code: ERR_REPLAY, message: 'timestamp outside the replay window' };
    }
    const key = signature.toLowerCase();
    if (seen.has(key)) {
      return { ok: false, code: ERR_REPLAY, message: 'signature already used' };
    }
    seen.set(key, timestamp + windowMs);
    return { ok: true };
  }

  return {
    check,
    get seenCount() {
      return seen.size;
    },
  };
}
