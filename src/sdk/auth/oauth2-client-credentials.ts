import { untilAborted } from '../../kernel/abort.ts';
import { UnauthorizedError, UpstreamUnavailableError } from '../errors.ts';
import type { HttpClient } from '../http-client.ts';
import type { Authenticator } from '../types.ts';

export interface OAuth2ClientCredentialsOptions {
  /** Client without credentials, pointed at the token endpoint's base. */
  readonly http: HttpClient;
  /** Path of the token endpoint relative to that base, e.g. `/oauth/token`. */
  readonly tokenPath: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scope?: string;
  /** A token fetch that takes longer is abandoned (and the next call tries again). Default 5 000 ms. */
  readonly tokenTimeoutMs?: number;
  /** Refresh this long before the token expires (at most a tenth of its lifetime). Default 5 000 ms. */
  readonly refreshSkewMs?: number;
  readonly now?: () => number;
}

export interface OAuth2ClientCredentials extends Authenticator {
  /** Fetches a token now if there is no valid one; concurrent callers share one fetch. */
  token(): Promise<string>;
  /** How many tokens were fetched so far. */
  readonly fetches: number;
}

interface Token {
  readonly value: string;
  /** When to stop using it: its expiry less the refresh skew. */
  readonly refreshAt: number;
}

/**
 * OAuth2 client credentials with a cached bearer token, refreshed before it expires and once
 * more when the backend answers 401. However many calls run at once, one fetch is in flight.
 */
export function oauth2ClientCredentials(options: OAuth2ClientCredentialsOptions): OAuth2ClientCredentials {
  const skew = options.refreshSkewMs ?? 5_000;
  const now = options.now ?? Date.now;
  let current: Token | undefined;
  let inFlight: Promise<Token> | undefined;
  let fetches = 0;

  async function fetchToken(): Promise<Token> {
    fetches += 1;
    const form: Record<string, string> = {
      grant_type: 'client_credentials',
      client_id: options.clientId,
      client_secret: options.clientSecret,
    };
    if (options.scope) form.scope = options.scope;
    const reply = await options.http.request({ method: 'POST', path: options.tokenPath, form, signal: AbortSignal.timeout(options.tokenTimeoutMs ?? 5_000) });
    const body = reply.body as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (reply.status === 400 || reply.status === 401) throw new UnauthorizedError(`token endpoint refused the client (${reply.status})`);
    if (reply.status !== 200 || typeof body?.access_token !== 'string') {
      throw new UpstreamUnavailableError(`token endpoint answered ${reply.status} without a token`);
    }
    const lifetimeMs = typeof body.expires_in === 'number' ? body.expires_in * 1000 : 60_000;
    return { value: body.access_token, refreshAt: now() + lifetimeMs - Math.min(skew, lifetimeMs / 10) };
  }

  async function token(): Promise<string> {
    if (current && current.refreshAt > now()) return current.value;
    inFlight ??= fetchToken().then(
      (fresh) => {
        current = fresh;
        inFlight = undefined;
        return fresh;
      },
      (err: unknown) => {
        inFlight = undefined;
        throw err;
      },
    );
    return (await inFlight).value;
  }

  return {
    token,
    get fetches() {
      return fetches;
    },
    async authorize(request) {
      // A call waits for a shared token fetch only as long as the call itself may run.
      const value = await (request.signal ? untilAborted(token(), request.signal) : token());
      request.authState = value;
      request.headers.authorization = `Bearer ${value}`;
    },
    invalidate(request) {
      // Only the first of many concurrent 401s drops the token; the others reuse the refresh.
      if (current?.value === request.authState) current = undefined;
      return true;
    },
  };
}
