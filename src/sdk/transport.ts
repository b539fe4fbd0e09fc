import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

/** Keep-alive connection pools for one connector; destroyed with it. */
export interface Pools {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;
  destroy(): void;
}

export function createPools(maxSockets = 64): Pools {
  const http = new HttpAgent({ keepAlive: true, maxSockets, timeout: 60_000 });
  const https = new HttpsAgent({ keepAlive: true, maxSockets, timeout: 60_000 });
  return {
    http,
    https,
    destroy() {
      http.destroy();
      https.destroy();
    },
  };
}

/** One pool set for clients made without their own (auth at load time, tests). */
let shared: Pools | undefined;
export const sharedPools = (): Pools => (shared ??= createPools());

export interface RawReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/**
 * One HTTP exchange over node:http. Unlike fetch, aborting destroys the socket at once, so a
 * hung backend never keeps a connection of ours open past the call's deadline.
 */
export function send(
  url: URL,
  init: { method: string; headers: Record<string, string>; body: string | undefined; signal: AbortSignal | undefined; pools: Pools; maxBytes?: number },
): Promise<RawReply> {
  const maxBytes = init.maxBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  return new Promise((resolve, reject) => {
    const isHttps = url.protocol === 'https:';
    const headers = { ...init.headers, ...(init.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(init.body)) }) };
    const req = (isHttps ? httpsRequest : httpRequest)(
      url,
      { method: init.method, headers, agent: isHttps ? init.pools.https : init.pools.http, ...(init.signal ? { signal: init.signal } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            req.destroy(new Error(`reply larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('the backend broke off its reply')));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Node's header object → a Fetch `Headers`, the type connectors see. */
export function toHeaders(raw: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  return headers;
}
