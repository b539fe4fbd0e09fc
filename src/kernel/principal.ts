/**
 * Who a request acts for. Its `name` owns what the request leaves behind (jobs, webhook
 * subscriptions, idempotency records, rate buckets), so it is stable across restarts and key
 * rotations: it comes from the key's configured name, never from the key or its place in a list.
 * The union is open: agents and visitors (tokens) join it as kinds of their own.
 */
export type Principal = ServicePrincipal;

/** What a principal may do: `api` the /v1 API, `admin` the admin API. */
export type Role = 'api' | 'admin';

/** A system calling with an API key or an admin key (`OMNIGATE_API_KEYS`, `OMNIGATE_ADMIN_KEYS`). */
export interface ServicePrincipal {
  readonly kind: 'service';
  readonly name: string;
  readonly roles: readonly Role[];
}
