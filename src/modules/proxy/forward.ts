import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and framing: they describe one connection, never the next. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/**
 * Client headers that never travel to a backend: its gateway credentials above all; the framing
 * and encoding of the client's body (the proxy sends its own buffer, so it sets its own); and the
 * method and URL overrides some frameworks honour, which would make a backend run another method,
 * or serve another path, than the one the rules checked.
 */
const NEVER_FORWARDED = new Set([
  ...HOP_BY_HOP,
  'authorization', 'x-api-key', 'cookie', 'traceparent', 'tracestate', 'x-request-id',
  'host', 'content-length', 'content-encoding', 'expect',
  'x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-method',
  'x-original-url', 'x-rewrite-url',
]);

/** The headers to send on: the client's, less what must not travel, plus the connector's (auth, traceparent). */
export function forwardedHeaders(client: IncomingHttpHeaders, connector: Record<string, string>, body: Buffer | undefined, method: string): OutgoingHttpHeaders {
  // Connection may name further headers that are hop-by-hop for this one connection.
  const named = new Set(String(client.connection ?? '').toLowerCase().split(',').map((name) => name.trim()));
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(client)) {
    if (value !== undefined && !NEVER_FORWARDED.has(name) && !named.has(name)) headers[name] = value;
  }
  Object.assign(headers, connector);
  // Exactly one framing: the length of the buffer that was checked. Bodiless reads send none.
  if (body || !['GET', 'HEAD'].includes(method)) headers['content-length'] = String(body?.length ?? 0);
  return headers;
}

/** Sends one request with exactly `body` and resolves with the backend's reply head. */
export function send(url: URL, options: { method: string; headers: OutgoingHttpHeaders; body: Buffer | undefined; signal: AbortSignal }): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const outgoing = request(url, { method: options.method, headers: options.headers, signal: options.signal }, resolve);
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

/**
 * Streams the backend's reply to the client: its status, its headers less the hop-by-hop ones,
 * its body. Resolves `'sent'`, or `'client-gone'` when the client left first; rejects when the
 * backend broke off.
 */
export function relay(upstream: IncomingMessage, res: ServerResponse): Promise<'sent' | 'client-gone'> {
  return new Promise((resolve, reject) => {
    const named = new Set(String(upstream.headers.connection ?? '').toLowerCase().split(',').map((name) => name.trim()));
    for (const [name, value] of Object.entries(upstream.headers)) {
      if (value !== undefined && !HOP_BY_HOP.includes(name) && !named.has(name)) res.setHeader(name, value);
    }
    res.statusCode = upstream.statusCode ?? 502;
    upstream.once('error', (err) => {
      reject(err);
      res.destroy();
    });
    res.once('finish', () => resolve('sent'));
    res.once('close', () => {
      if (res.writableFinished) return;
      resolve('client-gone');
      upstream.destroy();
    });
    upstream.pipe(res);
  });
}
