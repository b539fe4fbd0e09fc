import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { ApiKey } from '../../config/config.ts';
import type { Principal, Role } from '../../kernel/principal.ts';

/** What a request's credentials come to: none sent, one we do not know, or a principal. */
export type Authentication = { readonly outcome: 'none' } | { readonly outcome: 'invalid' } | { readonly outcome: 'ok'; readonly principal: Principal };

/** Resolves a request's credentials to its principal; the one place that knows about keys. */
export interface Authenticator {
  authenticate(req: Request): Authentication;
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** The key sent as `X-Api-Key: <key>` or `Authorization: Bearer <key>`. */
function presentedKey(req: Request): string | undefined {
  return req.get('x-api-key') ?? /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')?.[1];
}

/**
 * API keys and admin keys, each named. Several keys may share a name (rotation): they resolve
 * to the same principal. Keys are compared as digests in constant time, every one of them, so
 * the time taken does not tell which key came close.
 */
export function createKeyAuthenticator(keys: { readonly apiKeys: readonly ApiKey[]; readonly adminKeys: readonly ApiKey[] }): Authenticator {
  const principal = (name: string, role: Role): Principal => Object.freeze({ kind: 'service', name, roles: Object.freeze([role]) });
  const known = [
    ...keys.apiKeys.map((k) => ({ digest: digest(k.key), principal: principal(k.name, 'api') })),
    ...keys.adminKeys.map((k) => ({ digest: digest(k.key), principal: principal(k.name, 'admin') })),
  ];
  return {
    authenticate(req) {
      const presented = presentedKey(req);
      if (presented === undefined) return { outcome: 'none' };
      const candidate = digest(presented);
      let match: Principal | undefined;
      for (const k of known) if (timingSafeEqual(k.digest, candidate)) match = k.principal;
      return match ? { outcome: 'ok', principal: match } : { outcome: 'invalid' };
    },
  };
}
