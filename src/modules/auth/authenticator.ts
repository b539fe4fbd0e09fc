import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { decodeJwt } from 'jose';
import type { ApiKey } from '../../config/config.ts';
import { VISITOR_TOKEN_AUDIENCE } from '../../config/identity-config.ts';
import { AppError } from '../../kernel/errors.ts';
import type { Principal, Role } from '../../kernel/principal.ts';
import type { AgentTokenVerifier } from './agent-tokens.ts';
import type { VisitorTokens } from './visitor-tokens.ts';

/**
 * What a request's credentials come to: none sent, refused (`error` says why: UNAUTHENTICATED,
 * or TOKEN_EXPIRED for a token past its expiry), or a principal.
 */
export type Authentication =
  | { readonly outcome: 'none' }
  | { readonly outcome: 'invalid'; readonly error: AppError }
  | { readonly outcome: 'ok'; readonly principal: Principal };

/**
 * Resolves credentials to a principal: the one place that knows about API and admin keys, agent
 * JWTs and visitor tokens. Which principals an endpoint takes is its middleware's business.
 */
export interface Authenticator {
  /** The credential of `X-Api-Key: <key>` or `Authorization: Bearer <key or token>` (an express request or a bare upgrade request). */
  authenticate(req: { readonly headers: IncomingHttpHeaders }): Promise<Authentication>;
  /** A credential carried another way (a WebSocket subprotocol). */
  resolve(credential: string): Promise<Authentication>;
}

export interface AuthenticatorDeps {
  readonly apiKeys: readonly ApiKey[];
  readonly adminKeys: readonly ApiKey[];
  /** Absent: no agent issuer is configured and agent tokens are refused. */
  readonly agentTokens?: AgentTokenVerifier;
  /** Absent: no widget keys, no visitors. */
  readonly visitorTokens?: VisitorTokens;
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const first = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/** The credential sent as `X-Api-Key: <key>` or `Authorization: Bearer <credential>`. */
export function presentedCredential(headers: IncomingHttpHeaders): string | undefined {
  return first(headers['x-api-key']) ?? /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1];
}

/**
 * Keys are compared as digests in constant time, every one of them, so the time taken does not
 * tell which key came close; several keys may share a name (rotation) and resolve to one
 * principal. A credential that is no key but has the shape of a JWT is a visitor token when its
 * audience is the visitors' (checked with the gateway's own secret), else an agent token.
 */
export function createAuthenticator(deps: AuthenticatorDeps): Authenticator {
  const principal = (name: string, role: Role): Principal => Object.freeze({ kind: 'service', name, roles: Object.freeze([role]) });
  const known = [
    ...deps.apiKeys.map((k) => ({ digest: digest(k.key), principal: principal(k.name, 'api') })),
    ...deps.adminKeys.map((k) => ({ digest: digest(k.key), principal: principal(k.name, 'admin') })),
  ];
  const invalid = (error: AppError): Authentication => ({ outcome: 'invalid', error });
  // Keys seen to be valid, so a client's every request does not hash and compare again. Keys are
  // fixed at start; only a match is remembered (a guesser cannot fill it), and the map stays small.
  const accepted = new Map<string, Principal>();

  async function resolve(credential: string): Promise<Authentication> {
    const remembered = accepted.get(credential);
    if (remembered) return { outcome: 'ok', principal: remembered };
    const candidate = digest(credential);
    let match: Principal | undefined;
    for (const k of known) if (timingSafeEqual(k.digest, candidate)) match = k.principal;
    if (match) {
      if (accepted.size >= known.length) accepted.clear();
      accepted.set(credential, match);
      return { outcome: 'ok', principal: match };
    }
    if (!JWT_SHAPE.test(credential)) return invalid(new AppError('UNAUTHENTICATED', 'the key is not valid'));
    let audience: unknown;
    try {
      audience = decodeJwt(credential).aud;
    } catch {
      return invalid(new AppError('UNAUTHENTICATED', 'the token is not a readable JWT'));
    }
    const isVisitor = audience === VISITOR_TOKEN_AUDIENCE || (Array.isArray(audience) && audience.includes(VISITOR_TOKEN_AUDIENCE));
    const verifier = isVisitor ? deps.visitorTokens : deps.agentTokens;
    if (!verifier) return invalid(new AppError('UNAUTHENTICATED', isVisitor ? 'this gateway has no widget keys: visitor tokens are not accepted' : 'this gateway has no agent token issuer configured'));
    try {
      return { outcome: 'ok', principal: await verifier.verify(credential) };
    } catch (err) {
      return invalid(err instanceof AppError ? err : new AppError('UNAUTHENTICATED', 'the token is not valid', {}, { cause: err }));
    }
  }

  return {
    async authenticate(req) {
      const credential = presentedCredential(req.headers);
      return credential === undefined ? { outcome: 'none' } : resolve(credential);
    },
    resolve,
  };
}
