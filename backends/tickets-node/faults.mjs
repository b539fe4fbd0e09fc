// Fault injection: the mode in force and how each mode answers a request.
export const MODES = ['ok', 'down', 'latency', 'error', 'garbage', 'hang', 'hold'];
export const DEFAULT_LATENCY_MS = 1000;
export const DEFAULT_ERROR_RATE = 1.0;

const MAX_LATENCY_MS = 3_600_000;

export function defaultFault() {
  return { mode: 'ok', latencyMs: DEFAULT_LATENCY_MS, errorRate: DEFAULT_ERROR_RATE };
}

/**
 * Validates a POST /_admin/faults body. Every POST sets the whole fault:
 * omitted latencyMs / errorRate fall back to their defaults.
 * Returns { fault } or { error }.
 */
export function parseFault(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { error: 'body must be a JSON object' };
  }
  if (!MODES.includes(body.mode)) {
    return { error: `mode must be one of ${MODES.join(', ')}` };
  }
  const fault = defaultFault();
  fault.mode = body.mode;
  if (body.latencyMs !== undefined) {
    const v = body.latencyMs;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_LATENCY_MS) {
      return { error: `latencyMs must be a number from 0 to ${MAX_LATENCY_MS}` };
    }
    fault.latencyMs = v;
  }
  if (body.errorRate !== undefined) {
    const v = body.errorRate;
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      return { error: 'errorRate must be a number from 0 to 1' };
    }
    fault.errorRate = v;
  }
  return { fault };
}

/**
 * What the fault in force does to one request:
 *   'down' | 'hang' | 'error' | 'garbage' | 'latency' | 'hold' | null (serve normally).
 * For 'error', a request escapes the fault with probability 1 - errorRate.
 */
export function decide(fault, random = Math.random) {
  switch (fault.mode) {
    case 'down':
    case 'hang':
    case 'garbage':
    case 'latency':
    case 'hold':
      return fault.mode;
    case 'error':
      return random() < fault.errorRate ? 'error' : null;
    default:
      return null;
  }
}

// Garbage: well-formed JSON-RPC whose ticket fields have the wrong types.
function corrupt(ticket) {
  return { ...ticket, status: 42, createdAt: 'soon' };
}

/**
 * A garbage `result` for the call (no side effects: create and ensure store nothing).
 * Uses real tickets where they can be found so the rest looks plausible.
 */
export function garbageResult(store, method, params) {
  const p = params && typeof params === 'object' && !Array.isArray(params) ? params : {};
  const fallback = store.sample(3);
  if (method === 'requesters.ensure') return { requesterId: 42, email: 12345, created: 'maybe' };
  if (method === 'tickets.search') {
    const own = typeof p.requesterId === 'string' ? store.forRequester(p.requesterId).slice(0, 3) : [];
    return { items: (own.length ? own : fallback).map(corrupt), nextCursor: null };
  }
  const ticket = (typeof p.ticketId === 'string' && store.get(p.ticketId)) || fallback[0] || {
    ticketId: 'TCK-100001',
    requesterId: typeof p.requesterId === 'string' ? p.requesterId : 'u_00000000',
    subject: 'garbage',
    description: 'garbage',
    priority: 'normal',
    channel: 'email',
    tags: [],
    updatedAt: 0,
  };
  return corrupt(ticket);
}
