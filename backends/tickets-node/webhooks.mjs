// Outgoing webhooks: signed, at-least-once, in order per ticket.
//
//   POST <url>
//   X-Webhook-Id: <delivery uuid>           (the same on every attempt and on a duplicate)
//   X-Webhook-Timestamp: <epoch ms>         (when this attempt was sent)
//   X-Webhook-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">
//   X-Webhook-Attempt: <1, 2, ...>
//   {"id","type":"ticket.created"|"ticket.updated","occurredAt":<ms>,"ticket":{...}}
//
// Each event becomes one delivery (two in duplicate mode, with the same id and body) bound to the
// setting in force when the event happened. Deliveries for one ticket go through one queue: the
// next is sent only when the one before was acknowledged (2xx) or given up. A failed attempt
// (network error, timeout, non-2xx) is retried after backoffMs, doubling, up to maxAttempts in all.
import { randomUUID } from 'node:crypto';
import { sign } from './signature.mjs';

export const DEFAULT_WEBHOOK_SECRET = 'tickets-webhook-secret';
export const DEFAULT_MAX_ATTEMPTS = 8;
export const DEFAULT_BACKOFF_MS = 200;
export const DEFAULT_TIMEOUT_MS = 5000;
const RECENT_ATTEMPTS = 50;

/** Checks a webhook target; returns an error message or null. */
export function checkWebhookUrl(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return 'url must be an absolute http(s) URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'url must be an absolute http(s) URL';
  return null;
}

function intField(body, name, fallback, min, max) {
  const v = body[name];
  if (v === undefined || v === null) return { value: fallback };
  if (!Number.isInteger(v) || v < min || v > max) return { error: `${name} must be an integer from ${min} to ${max}` };
  return { value: v };
}

/**
 * Validates a POST /_admin/webhooks body. Every POST sets the whole setting: omitted fields go
 * back to their defaults (the secret to the one from the environment). Returns { setting } or { error }.
 */
export function parseWebhookSetting(body, defaultSecret) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { error: 'body must be a JSON object' };
  if (!Object.hasOwn(body, 'url')) return { error: 'url is required (null switches webhooks off)' };
  const setting = { url: null, secret: defaultSecret, duplicate: false };
  if (body.url !== null) {
    if (typeof body.url !== 'string') return { error: 'url must be a string or null' };
    const problem = checkWebhookUrl(body.url);
    if (problem) return { error: problem };
    setting.url = body.url;
  }
  if (body.secret !== undefined && body.secret !== null) {
    if (typeof body.secret !== 'string' || body.secret === '') return { error: 'secret must be a non-empty string' };
    setting.secret = body.secret;
  }
  if (body.duplicate !== undefined && body.duplicate !== null) {
    if (typeof body.duplicate !== 'boolean') return { error: 'duplicate must be a boolean' };
    setting.duplicate = body.duplicate;
  }
  for (const [name, fallback, min, max] of [
    ['maxAttempts', DEFAULT_MAX_ATTEMPTS, 1, 20],
    ['backoffMs', DEFAULT_BACKOFF_MS, 0, 60_000],
    ['timeoutMs', DEFAULT_TIMEOUT_MS, 1, 60_000],
  ]) {
    const { value, error } = intField(body, name, fallback, min, max);
    if (error) return { error };
    setting[name] = value;
  }
  return { setting };
}

function zeroCounters() {
  return {
    events: 0, // ticket.created / ticket.updated events that had a webhook to go to
    sent: 0, // deliveries acknowledged: POSTs answered 2xx (a duplicate copy counts on its own)
    failedAttempts: 0, // POSTs that failed: network error, timeout or non-2xx
    gaveUp: 0, // deliveries abandoned after maxAttempts
    dropped: 0, // deliveries discarded because the setting was replaced
  };
}

/**
 * The webhook dispatcher, starting with `url` (null: off) and `secret`, which is also what a
 * POST /_admin/webhooks without "secret" goes back to. `post(url, { headers, body, timeoutMs })`
 * resolves to the HTTP status or rejects on a network error (replaceable in tests).
 */
export function createWebhooks({ url = null, secret = DEFAULT_WEBHOOK_SECRET, now = Date.now, post = httpPost, log = () => {} } = {}) {
  const defaultSecret = secret;
  let setting = {
    url,
    secret,
    duplicate: false,
    maxAttempts: DEFAULT_MAX_ATTEMPTS,
    backoffMs: DEFAULT_BACKOFF_MS,
    timeoutMs: DEFAULT_TIMEOUT_MS,
  };
  let generation = 0; // bumped when the setting is replaced: older deliveries are dropped
  let counters = zeroCounters();
  const queues = new Map(); // ticketId -> { jobs: [delivery…], running: boolean }
  let pending = 0;
  const recent = [];

  function remember(entry) {
    recent.push(entry);
    if (recent.length > RECENT_ATTEMPTS) recent.shift();
  }

  // A retry waits here; configure() wakes every waiter so that old deliveries end at once.
  const sleepers = new Map(); // timer -> resolve
  function sleep(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        sleepers.delete(timer);
        resolve();
      }, ms);
      timer.unref?.();
      sleepers.set(timer, resolve);
    });
  }

  function wakeAll() {
    for (const [timer, resolve] of sleepers) {
      clearTimeout(timer);
      resolve();
    }
    sleepers.clear();
  }

  /** Queues the event for the ticket; returns at once (the RPC reply never waits for it). */
  function emit(type, ticket) {
    const target = setting;
    if (!target.url) return null;
    counters.events += 1;
    const id = randomUUID();
    const body = JSON.stringify({ id, type, occurredAt: ticket.updatedAt, ticket });
    const copies = target.duplicate ? 2 : 1;
    let entry = queues.get(ticket.ticketId);
    if (!entry) {
      entry = { jobs: [], running: false };
      queues.set(ticket.ticketId, entry);
    }
    for (let copy = 1; copy <= copies; copy++) {
      entry.jobs.push({ id, type, ticketId: ticket.ticketId, body, copy, target, generation });
      pending += 1;
    }
    if (!entry.running) {
      entry.running = true;
      setImmediate(() => drain(ticket.ticketId, entry));
    }
    return id;
  }

  async function drain(ticketId, entry) {
    try {
      while (entry.jobs.length > 0) {
        const job = entry.jobs[0];
        await deliver(job);
        entry.jobs.shift();
        if (job.generation === generation) pending -= 1; // older ones were counted as dropped
      }
    } finally {
      entry.running = false;
      if (queues.get(ticketId) === entry && entry.jobs.length === 0) queues.delete(ticketId);
    }
  }

  async function deliver(job) {
    const { target } = job;
    for (let attempt = 1; attempt <= target.maxAttempts; attempt++) {
      if (job.generation !== generation) return; // replaced setting: dropped (counted there)
      const timestamp = now();
      const headers = {
        'Content-Type': 'application/json',
        'User-Agent': 'omnigate-tickets-webhooks/1',
        'X-Webhook-Id': job.id,
        'X-Webhook-Timestamp': String(timestamp),
        'X-Webhook-Signature': sign(target.secret, timestamp, job.body),
        'X-Webhook-Attempt': String(attempt),
      };
      let status = null;
      let error = null;
      try {
        status = await post(target.url, { headers, body: job.body, timeoutMs: target.timeoutMs });
        if (status < 200 || status > 299) error = `HTTP ${status}`;
      } catch (err) {
        error = describeFailure(err);
      }
      if (job.generation !== generation) return;
      remember({ id: job.id, type: job.type, ticketId: job.ticketId, copy: job.copy, attempt, at: timestamp, status, error });
      if (!error) {
        counters.sent += 1;
        return;
      }
      counters.failedAttempts += 1;
      if (attempt === target.maxAttempts) {
        counters.gaveUp += 1;
        log(`tickets: webhook ${job.id} (${job.type} ${job.ticketId}) given up after ${attempt} attempts: ${error}`);
        return;
      }
      await sleep(target.backoffMs * 2 ** (attempt - 1));
    }
  }

  /** Replaces the setting; every delivery still pending is dropped and the counters start at 0. */
  function configure(next) {
    generation += 1;
    let dropped = 0;
    for (const entry of queues.values()) {
      // the head of a running queue is in flight or sleeping: drain() removes it when it returns
      const keep = entry.running ? entry.jobs.slice(0, 1) : [];
      dropped += entry.jobs.length;
      entry.jobs.length = keep.length;
    }
    pending = 0;
    wakeAll();
    setting = { ...next };
    counters = zeroCounters();
    counters.dropped = dropped;
    recent.length = 0;
  }

  function status() {
    const { url: u, duplicate, maxAttempts, backoffMs, timeoutMs } = setting;
    return {
      url: u,
      duplicate,
      maxAttempts,
      backoffMs,
      timeoutMs,
      stats: { ...counters, pending },
      recent: recent.slice(),
    };
  }

  return { emit, configure, status, defaultSecret };
}

/** A short reason for a failed POST: "ECONNREFUSED", "timeout", ... */
function describeFailure(err) {
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'timeout';
  const code = err?.cause?.code ?? err?.code;
  if (typeof code === 'string') return code;
  return String(err?.cause?.message ?? err?.message ?? err);
}

/** POST with node's fetch; resolves to the status code, rejects on network errors and timeouts. */
export async function httpPost(url, { headers, body, timeoutMs }) {
  const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  try {
    await res.arrayBuffer();
  } catch {
    // the status is what counts
  }
  return res.status;
}
