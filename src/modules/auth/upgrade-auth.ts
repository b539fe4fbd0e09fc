import type { IncomingMessage } from 'node:http';
import { AppError } from '../../kernel/errors.ts';
import type { Principal } from '../../kernel/principal.ts';
import type { Authentication, Authenticator } from './authenticator.ts';
import type { WsTickets } from './ws-tickets.ts';

/** The protocol a client asks for in `Sec-WebSocket-Protocol`, next to `bearer.<token>`. */
export const WS_PROTOCOL = 'omnigate.v1';
const BEARER_PREFIX = 'bearer.';

/** Authenticates a WebSocket upgrade request, before the socket exists. */
export interface UpgradeAuthenticator {
  /**
   * The upgrade's principal, and the subprotocol to select (`omnigate.v1` when the client offered
   * it). Throws AppError UNAUTHENTICATED, TOKEN_EXPIRED or ORIGIN_NOT_ALLOWED.
   */
  authenticate(req: IncomingMessage): Promise<{ principal: Principal; protocol?: string }>;
}

export interface UpgradeAuthDeps {
  readonly authenticator: Authenticator;
  readonly tickets: WsTickets;
  readonly originAllowed: (site: string, origin: string) => boolean;
}

/**
 * Token carriers, first found wins: `?ticket=` (from POST /v1/ws/tickets, single use), the
 * subprotocol list `omnigate.v1, bearer.<token>` (browsers: they cannot set headers), then
 * `Authorization: Bearer` / `X-Api-Key` (other clients). API keys, agent JWTs and visitor tokens
 * are all taken (services act as the system); admin keys are not. A visitor's browser must be on
 * one of its site's origins.
 */
export function createUpgradeAuthenticator(deps: UpgradeAuthDeps): UpgradeAuthenticator {
  const principalOf = (auth: Authentication): Principal => {
    if (auth.outcome === 'none') throw new AppError('UNAUTHENTICATED', 'send a ticket (?ticket=), the subprotocols omnigate.v1 and bearer.<token>, or Authorization: Bearer');
    if (auth.outcome === 'invalid') throw auth.error;
    return auth.principal;
  };
  return {
    async authenticate(req) {
      const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '');
      const protocol = offered.includes(WS_PROTOCOL) ? WS_PROTOCOL : undefined;
      const ticket = new URL(req.url ?? '/', 'http://upgrade').searchParams.get('ticket');
      const bearer = offered.find((p) => p.startsWith(BEARER_PREFIX))?.slice(BEARER_PREFIX.length);
      let principal: Principal;
      if (ticket !== null) principal = await deps.tickets.redeem(ticket);
      else if (bearer !== undefined) principal = principalOf(await deps.authenticator.resolve(bearer));
      else principal = principalOf(await deps.authenticator.authenticate(req));
      if (principal.kind === 'service' && !principal.roles.includes('api')) throw new AppError('UNAUTHENTICATED', 'an admin key does not open the chat');
      const origin = req.headers.origin;
      if (principal.kind === 'visitor' && origin !== undefined && !deps.originAllowed(principal.site, origin)) {
        throw new AppError('ORIGIN_NOT_ALLOWED', `the widget key of ${principal.site} does not allow the origin ${origin}`);
      }
      return protocol === undefined ? { principal } : { principal, protocol };
    },
  };
}
