// Counters, the recent-requests ring and the /_admin/* endpoints.
import { parseFault } from './faults.mjs';
import { parseWebhookSetting } from './webhooks.mjs';
import { readBody, sendJson, methodNotAllowed, notFound } from './http.mjs';

const REQUEST_LOG_SIZE = 100;

export function createStats() {
  const counters = {
    requests: 0, // non-admin, non-health requests received (even when a fault drops them)
    rpcCalls: 0, // authenticated POST /rpc bodies handed to the JSON-RPC layer
    authFailures: 0, // 401 with -32001
    replayRejections: 0, // 401 with -32002
    faultsInjected: 0, // requests answered (or not) by a fault
    ticketsCreated: 0,
    ticketsUpdated: 0,
    requestersCreated: 0,
  };
  return {
    counters,
    inc(name) {
      counters[name] += 1;
    },
    reset() {
      for (const k of Object.keys(counters)) counters[k] = 0;
    },
  };
}

/** The last 100 non-admin requests, oldest first. */
export function createRequestLog(size = REQUEST_LOG_SIZE) {
  const entries = [];
  return {
    add(entry) {
      entries.push(entry);
      if (entries.length > size) entries.shift();
    },
    list() {
      return entries.slice();
    },
  };
}

async function readJsonBody(req, res) {
  let raw;
  try {
    raw = await readBody(req);
  } catch {
    sendJson(res, 413, { error: 'body too large' });
    return undefined;
  }
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    sendJson(res, 400, { error: 'body must be valid JSON' });
    return undefined;
  }
}

/**
 * Handles /_admin/*. Admin endpoints need no auth and ignore faults.
 * ctx: { faults: { get(), set(f) }, stats, requestLog, extraStats(), webhooks }
 */
export async function handleAdmin(req, res, path, ctx) {
  switch (path) {
    case '/_admin/faults':
      if (req.method === 'GET') return sendJson(res, 200, ctx.faults.get());
      if (req.method === 'POST') {
        const body = await readJsonBody(req, res);
        if (body === undefined) return undefined;
        const { fault, error } = parseFault(body);
        if (error) return sendJson(res, 400, { error });
        ctx.faults.set(fault);
        return sendJson(res, 200, fault);
      }
      return methodNotAllowed(res, ['GET', 'POST']);
    case '/_admin/stats':
      if (req.method !== 'GET') return methodNotAllowed(res, ['GET']);
      return sendJson(res, 200, { ...ctx.stats.counters, ...ctx.extraStats() });
    case '/_admin/stats/reset':
      if (req.method !== 'POST') return methodNotAllowed(res, ['POST']);
      req.resume();
      ctx.stats.reset();
      return sendJson(res, 200, { ...ctx.stats.counters, ...ctx.extraStats() });
    case '/_admin/requests':
      if (req.method !== 'GET') return methodNotAllowed(res, ['GET']);
      return sendJson(res, 200, ctx.requestLog.list());
    case '/_admin/webhooks':
      if (req.method === 'GET') return sendJson(res, 200, ctx.webhooks.status());
      if (req.method === 'POST') {
        const body = await readJsonBody(req, res);
        if (body === undefined) return undefined;
        const { setting, error } = parseWebhookSetting(body, ctx.webhooks.defaultSecret);
        if (error) return sendJson(res, 400, { error });
        ctx.webhooks.configure(setting);
        return sendJson(res, 200, ctx.webhooks.status());
      }
      return methodNotAllowed(res, ['GET', 'POST']);
    default:
      return notFound(res);
  }
}
