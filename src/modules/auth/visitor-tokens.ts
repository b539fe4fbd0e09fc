import { randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { VISITOR_TOKEN_AUDIENCE, VISITOR_TOKEN_ISSUER } from '../../config/identity-config.ts';
import { AppError } from '../../kernel/errors.ts';
import type { VisitorPrincipal } from '../../kernel/principal.ts';
import { tokenError } from './token-errors.ts';

/** Who a visitor token is for. */
export interface VisitorClaims {
  readonly visitorId: string;
  readonly site: string;
  /** Only when the site proved it (identity verification). */
  readonly customerId?: string;
}

/** The gateway's own visitor tokens: issued by POST /v1/widget/sessions, checked on every visitor request. */
export interface VisitorTokens {
  issue(claims: VisitorClaims): Promise<{ token: string; expiresAt: number }>;
  /** The token's principal; AppError TOKEN_EXPIRED or UNAUTHENTICATED when it is not one. */
  verify(token: string): Promise<VisitorPrincipal>;
}

export interface VisitorTokensDeps {
  readonly secret: string;
  readonly ttlMs: number;
  readonly clockToleranceMs: number;
  /** Whether a site (widget key name) is still configured: a removed key's tokens stop working. */
  readonly isSite: (site: string) => boolean;
  readonly now?: () => number;
}

/** HS256 JWTs under the gateway's secret, with an issuer and audience of their own (never an agent's). */
export function createVisitorTokens(deps: VisitorTokensDeps): VisitorTokens {
  const key = new TextEncoder().encode(deps.secret);
  const now = deps.now ?? Date.now;
  return {
    async issue({ visitorId, site, customerId }) {
      const expiresAt = Math.floor((now() + deps.ttlMs) / 1000) * 1000;
      const token = await new SignJWT({ site, ...(customerId === undefined ? {} : { cid: customerId }) })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(VISITOR_TOKEN_ISSUER).setAudience(VISITOR_TOKEN_AUDIENCE).setSubject(visitorId)
        .setIssuedAt(Math.floor(now() / 1000)).setExpirationTime(expiresAt / 1000).setJti(randomUUID())
        .sign(key);
      return { token, expiresAt };
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, {
          issuer: VISITOR_TOKEN_ISSUER, audience: VISITOR_TOKEN_AUDIENCE, algorithms: ['HS256'], clockTolerance: deps.clockToleranceMs / 1000,
          requiredClaims: ['sub', 'exp', 'site'], currentDate: new Date(now()),
        });
        const site = String(payload.site);
        if (!deps.isSite(site)) throw new AppError('UNAUTHENTICATED', `the visitor token's site ${site} has no widget key any more`);
        const visitorId = String(payload.sub);
        const customerId = typeof payload.cid === 'string' ? payload.cid : undefined;
        return Object.freeze({
          kind: 'visitor', name: `visitor:${visitorId}`, visitorId, site, ...(customerId === undefined ? {} : { customerId }), roles: Object.freeze([]), expiresAt: Number(payload.exp) * 1000,
        });
      } catch (err) {
        throw tokenError(err, 'visitor token');
      }
    },
  };
}
