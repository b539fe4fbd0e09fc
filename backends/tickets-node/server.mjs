// Omnigate sample backend "tickets": JSON-RPC 2.0 over HTTP with HMAC-signed requests.
// Run from the repo root: node backends/tickets-node/server.mjs
import { createServer } from 'node:http';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createAuthenticator, ERR_REPLAY } from './auth.mjs';
import { handleAdmin, createStats, createRequestLog } from './admin.mjs';
import { defaultFault, decide, garbageResult } from './faults.mjs';
import { readBody, sendJson, methodNotAllowed, notFound, BodyTooLarge } from './http.mjs';
import { createMethods } from './methods.mjs';
import { handleRpc, errorResponse, peekId, peekCall, ERR_INTERNAL } from './rpc.mjs';
import { loadStore, DEFAULT_REQUEST_ID_RETENTION_MS } from './store.mjs';
import { createWebhooks, checkWebhookUrl, DEFAULT_WEBHOOK_SECRET } from './webhooks.mjs';

export function configFromEnv(env = process.env) {
  const int = (name, fallback, min, max) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
  const webhookUrl = env.TICKETS_WEBHOOK_URL || null;
  if (webhookUrl) {
    const problem = checkWebhookUrl(webhookUrl);
    if (problem) throw new Error(`TICKETS_WEBHOOK_URL: ${problem}`);
  }
  return {
    host: env.BIND_HOST || '127.0.0.1',
    port: int('TICKETS_PORT', 8083, 0, 65535),
    secret: env.TICKETS_HMAC_SECRET || 'tickets-dev-secret',
    windowMs: int('TICKETS_REPLAY_WINDOW_MS', 300000, 1, 864e5 * 365),
    seedDir: resolve(env.OMNIGATE_SEED_DIR || '.data/seed'),
    requestIdRetentionMs: int('TICKETS_REQUEST_ID_RETENTION_MS', DEFAULT_REQUEST_ID_RETENTION_MS, 1, 864e5 * 365),
    webhookUrl,
    webhookSecret: env.TICKETS_WEBHOOK_SECRET || DEFAULT_WEBHOOK_SECRET,
  };
}

/** Builds the request handler around a loaded store. */
export function createApp({
  store,
  secret,
  windowMs,
  webhookUrl = null,
  webhookSecret = DEFAULT_WEBHOOK_SECRET,
  writeLog = (line) => process.stdout.write(line + '\n'),
}) {
  const auth = createAuthenticator({ secret, windowMs });
  const stats = createStats();
  const webhooks = createWebhooks({
    url: webhookUrl,
    secret: webhookSecret,
    log: (line) => process.stderr.write(line + '\n'),
  });
  const onEvent = (type, ticket) => {
    if (type === 'ticket.updated') stats.inc('ticketsUpdated');
    try {
      webhooks.emit(type, ticket);
    } catch (err) {
      process.stderr.write(`tickets: webhook not queued: ${err?.stack ?? err}\n`);
    }
  };
  const methods = createMethods(store, Date.now, onEvent);
  const requestLog = createRequestLog();
  let fault = defaultFault();
  /** Replies 'hold' keeps back: all sent when the fault is set back to 'ok'. */
  const held = new Set();
  const setFault = (f) => {
    fault = f;
    if (f.mode !== 'ok') return;
    for (const send of held) send();
    held.clear();
  };
  const adminCtx = {
    faults: { get: () => ({ ...fault }), set: setFault },
    stats,
    requestLog,
    extraStats: () => ({ replayCacheSize: auth.seenCount, tickets: store.size }),
    webhooks,
  };
  const onInternalError = (err) => process.stderr.write(`tickets: internal error: ${err?.stack ?? err}\n`);

  // POST /rpc once the body is in: signature check, then JSON-RPC. Returns [status, body|null].
  function serveRpc(req, raw) {
    const verdict = auth.check(req.headers, raw);
    if (!verdict.ok) {
      stats.inc(verdict.code === ERR_REPLAY ? 'replayRejections' : 'authFailures');
      return [401, errorResponse(null, verdict.code, verdict.message)];
    }
    stats.inc('rpcCalls');
    const before = store.size;
    const usersBefore = store.usersCount;
    const response = handleRpc(raw, methods, onInternalError);
    if (store.size > before) stats.inc('ticketsCreated');
    if (store.usersCount > usersBefore) stats.inc('requestersCreated');
    return response === null ? [204, null] : [200, response];
  }

  return async function handle(req, res) {
    const path = (req.url ?? '/').split('?')[0];
    const isAdmin = path === '/_admin' || path.startsWith('/_admin/');
    const tp = req.headers.traceparent;
    const traceparent = typeof tp === 'string' ? tp : null;
    let logged = false;
    const record = (status) => {
      if (logged) return;
      logged = true;
      const entry = { method: req.method, path, status, traceparent };
      writeLog(JSON.stringify({ ts: new Date().toISOString(), ...entry }));
      if (!isAdmin) requestLog.add(entry);
    };
    res.on('finish', () => record(res.statusCode));
    res.on('close', () => record(res.writableFinished ? res.statusCode : null));

    if (isAdmin) return handleAdmin(req, res, path, adminCtx);
    if (path === '/health') {
      req.resume();
      if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, ['GET', 'HEAD']);
      return sendJson(res, 200, { status: 'ok' });
    }

    stats.inc('requests');
    const action = decide(fault);
    if (action) stats.inc('faultsInjected');
    if (action === 'down') {
      record(null);
      req.socket.destroy();
      return;
    }
    if (action === 'hang') {
      record(null); // logged now: there will be no reply; the socket stays open until the client goes
      req.resume();
      return;
    }

    let raw;
    try {
      raw = await readBody(req);
    } catch (err) {
      if (err instanceof BodyTooLarge) return sendJson(res, 413, { error: 'body too large' });
      return req.socket.destroy();
    }

    if (action === 'error') {
      return sendJson(res, 503, errorResponse(peekId(raw), ERR_INTERNAL, 'service unavailable'));
    }
    if (action === 'garbage') {
      const { method, params } = peekCall(raw);
      return sendJson(res, 200, { jsonrpc: '2.0', id: peekId(raw), result: garbageResult(store, method, params) });
    }

    let reply; // [status, body|null, headers?]
    if (path !== '/rpc') reply = [404, { error: 'not found' }];
    else if (req.method !== 'POST') reply = [405, { error: 'method not allowed' }, { Allow: 'POST' }];
    else reply = serveRpc(req, raw);

    const send = () => {
      const [status, body, headers] = reply;
      if (body === null) res.writeHead(status).end();
      else sendJson(res, status, body, headers);
    };
    if (action === 'latency') {
      const timer = setTimeout(send, fault.latencyMs);
      res.on('close', () => clearTimeout(timer));
    } else if (action === 'hold') {
      held.add(send);
      res.on('close', () => held.delete(send));
    } else {
      send();
    }
  };
}

export function startServer(config = configFromEnv()) {
  const store = loadStore(config.seedDir, { requestIdRetentionMs: config.requestIdRetentionMs });
  const handle = createApp({
    store,
    secret: config.secret,
    windowMs: config.windowMs,
    webhookUrl: config.webhookUrl,
    webhookSecret: config.webhookSecret,
  });
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      process.stderr.write(`tickets: unhandled error: ${err?.stack ?? err}\n`);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    });
  });
  server.listen(config.port, config.host, () => {
    const { port } = server.address();
    process.stderr.write(
      `tickets: listening on http://${config.host}:${port} (${store.size} tickets from ${config.seedDir})` +
        `${config.webhookUrl ? `; webhooks to ${config.webhookUrl}` : ''}\n`,
    );
  });
  return server;
}

function isMain() {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  let server;
  try {
    server = startServer();
  } catch (err) {
    process.stderr.write(`tickets: ${err.message}\n`);
    process.exit(1);
  }
  server.on('error', (err) => {
    process.stderr.write(`tickets: ${err.message}\n`);
    process.exit(1);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections(); // includes hung requests
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
