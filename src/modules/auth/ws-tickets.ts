import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../../kernel/errors.ts';
import type { Principal } from '../../kernel/principal.ts';
import type { TicketStore } from '../../ports/ticket-store.ts';

/**
 * Single-use WebSocket tickets: a browser cannot set headers on a WebSocket, so it trades its
 * token (sent as a header to POST /v1/ws/tickets) for a ticket it puts in the upgrade URL
 * (`?ticket=`). A ticket is good for one upgrade, on any node, within its short time to live.
 */
export interface WsTickets {
  issue(principal: Principal): Promise<{ ticket: string; expiresAt: number }>;
  /** The ticket's principal, the ticket gone; UNAUTHENTICATED when unknown, used or expired, TOKEN_EXPIRED when its token expired meanwhile. */
  redeem(ticket: string): Promise<Principal>;
}

export interface WsTicketsDeps {
  readonly store: TicketStore;
  readonly ttlMs: number;
  readonly now?: () => number;
}

// Stored under its digest: what Redis holds cannot be replayed as a ticket.
const idOf = (ticket: string): string => createHash('sha256').update(ticket).digest('base64url');

export function createWsTickets(deps: WsTicketsDeps): WsTickets {
  const now = deps.now ?? Date.now;
  return {
    async issue(principal) {
      const ticket = randomBytes(32).toString('base64url');
      const expiresAt = now() + deps.ttlMs;
      await deps.store.put(idOf(ticket), JSON.stringify(principal), deps.ttlMs);
      return { ticket, expiresAt };
    },
    async redeem(ticket) {
      const stored = /^[A-Za-z0-9_-]{43}$/.test(ticket) ? await deps.store.take(idOf(ticket)) : undefined;
      if (stored === undefined) throw new AppError('UNAUTHENTICATED', 'the WebSocket ticket is unknown, used or expired: get a new one from POST /v1/ws/tickets');
      const principal = JSON.parse(stored) as Principal;
      if ('expiresAt' in principal && principal.expiresAt <= now()) throw new AppError('TOKEN_EXPIRED', `the token the ticket was made with has expired`);
      return Object.freeze(principal);
    },
  };
}
