import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { AgentJwtConfig } from '../../config/identity-config.ts';
import { AppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { AgentPrincipal, Role } from '../../kernel/principal.ts';
import { tokenError } from './token-errors.ts';

/** Checks agent and supervisor JWTs and turns them into principals. */
export interface AgentTokenVerifier {
  /** The token's principal; AppError TOKEN_EXPIRED or UNAUTHENTICATED when it is not one. */
  verify(token: string): Promise<AgentPrincipal>;
}

export interface AgentTokenVerifierDeps {
  readonly config: AgentJwtConfig;
  readonly clockToleranceMs: number;
  readonly log: Logger;
  /** How long a JWKS fetch may take. */
  readonly jwksTimeoutMs?: number;
}

/** Asymmetric algorithms an identity provider signs with; `none` and HMAC are never taken from a key set. */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/**
 * Agent tokens are JWTs from the configured issuer for the configured audience, signed with the
 * shared HS256 secret or a key of the issuer's JWKS (fetched, cached and refreshed by jose on an
 * unknown `kid`). Their `sub` is the agent id; the role claim says `agent` or `supervisor`.
 */
export function createAgentTokenVerifier(deps: AgentTokenVerifierDeps): AgentTokenVerifier {
  const { config } = deps;
  const key: Uint8Array | JWTVerifyGetKey = config.jwksUrl !== undefined
    ? createRemoteJWKSet(new URL(config.jwksUrl), { timeoutDuration: deps.jwksTimeoutMs ?? 5_000 })
    : new TextEncoder().encode(config.secret ?? '');
  const algorithms = config.jwksUrl !== undefined ? JWKS_ALGORITHMS : ['HS256'];
  const log = deps.log.child({ module: 'agent-tokens' });

  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, key as Uint8Array, {
          issuer: config.issuer, audience: config.audience, algorithms, clockTolerance: deps.clockToleranceMs / 1000, requiredClaims: ['sub', 'exp'],
        }));
      } catch (err) {
        // The key set could not be fetched: the token may be fine; operators must know.
        if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError)) log.warn({ err, jwksUrl: config.jwksUrl }, 'agent token not checked: key set unreachable');
        throw tokenError(err, 'agent token');
      }
      const roles = rolesOf(claimAt(payload, config.roleClaim));
      if (roles === undefined) throw new AppError('UNAUTHENTICATED', `the agent token's ${config.roleClaim} claim names neither agent nor supervisor`);
      const agentId = String(payload.sub);
      return Object.freeze({ kind: 'agent', name: `agent:${agentId}`, agentId, roles, expiresAt: Number(payload.exp) * 1000 });
    },
  };
}

/** The value at a dotted path (`realm_access.roles`), as identity providers nest their roles. */
function claimAt(payload: JWTPayload, path: string): unknown {
  return path.split('.').reduce<unknown>((at, part) => (typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[part] : undefined), payload);
}

function rolesOf(claim: unknown): readonly Role[] | undefined {
  const values = Array.isArray(claim) ? claim : [claim];
  if (values.includes('supervisor')) return Object.freeze(['agent', 'supervisor'] as const);
  if (values.includes('agent')) return Object.freeze(['agent'] as const);
  return undefined;
}
