/**
 * Who a request or a socket acts for, resolved in one place (src/modules/auth). Its `name` owns
 * what it leaves behind (jobs, webhook subscriptions, idempotency records, rate buckets), so it
 * is stable across restarts and key rotations: a key's configured name, `agent:<sub>` for an
 * agent, `visitor:<id>` for a visitor.
 */
export type Principal = ServicePrincipal | AgentPrincipal | VisitorPrincipal;

/** What a principal may do: `api` the /v1 API, `admin` the admin API, `agent`/`supervisor` the chat as staff. */
export type Role = 'api' | 'admin' | 'agent' | 'supervisor';

/** A system calling with an API key or an admin key (`OMNIGATE_API_KEYS`, `OMNIGATE_ADMIN_KEYS`). */
export interface ServicePrincipal {
  readonly kind: 'service';
  readonly name: string;
  readonly roles: readonly Role[];
}

/** A support agent or supervisor, proven by a JWT from the configured issuer (its `sub` is `agentId`). */
export interface AgentPrincipal {
  readonly kind: 'agent';
  /** `agent:<agentId>`. */
  readonly name: string;
  /** The token's subject: the key of the agent directory. */
  readonly agentId: string;
  /** `agent`, plus `supervisor` for supervisors. */
  readonly roles: readonly Role[];
  /** Epoch ms at which the token expires: an open socket is closed then (TOKEN_EXPIRED). */
  readonly expiresAt: number;
}

/** A website or app visitor, holding a visitor token from POST /v1/widget/sessions; sees only its own conversations. */
export interface VisitorPrincipal {
  readonly kind: 'visitor';
  /** `visitor:<visitorId>`. */
  readonly name: string;
  readonly visitorId: string;
  /** The widget key's name (the site) the session was opened with. */
  readonly site: string;
  /** The customer-master id, only when the site proved it (identity verification). */
  readonly customerId?: string;
  readonly roles: readonly Role[];
  readonly expiresAt: number;
}

/** Staff: agents, supervisors and services (which act as the system). */
export const isStaff = (p: Principal): p is AgentPrincipal | ServicePrincipal => p.kind !== 'visitor';
