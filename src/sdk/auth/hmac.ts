import { createHmac } from 'node:crypto';
import type { Authenticator } from '../types.ts';

export interface HmacAuthOptions {
  readonly secret: string;
  /** Default `sha256`. */
  readonly algorithm?: string;
  /** The string signed for a request; default `"<timestamp>.<body>"`. */
  readonly payload?: (timestamp: string, body: string, method: string, path: string) => string;
  /** Header names; default `x-timestamp` and `x-signature` (value `sha256=<hex>`). */
  readonly timestampHeader?: string;
  readonly signatureHeader?: string;
  readonly now?: () => number;
}

/** Signs every request with an HMAC over a timestamp and the exact body bytes. */
export function hmacAuth(options: HmacAuthOptions): Authenticator {
  const algorithm = options.algorithm ?? 'sha256';
  const payload = options.payload ?? ((timestamp, body) => `${timestamp}.${body}`);
  const timestampHeader = (options.timestampHeader ?? 'x-timestamp').toLowerCase();
  const signatureHeader = (options.signatureHeader ?? 'x-signature').toLowerCase();
  const now = options.now ?? Date.now;
  return {
    authorize(request) {
      const timestamp = String(now());
      const signed = payload(timestamp, request.body ?? '', request.method, request.url.pathname);
      const digest = createHmac(algorithm, options.secret).update(signed).digest('hex');
      request.headers[timestampHeader] = timestamp;
      request.headers[signatureHeader] = `${algorithm}=${digest}`;
    },
  };
}
