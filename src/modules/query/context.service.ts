import { ERROR_CATALOGUE, toAppError, type AppError, type ErrorCode } from '../../kernel/errors.ts';
import type { CallOptions, QueryService, Staleness } from './query.service.ts';

/**
 * The statuses the context asks `ticket.list` for: the open ones, and `other` (a status the
 * source has that maps to no canonical one), which is not known to be closed, so it is shown
 * with its `sourceStatus` rather than silently dropped.
 */
export const OPEN_TICKET_STATUSES: readonly string[] = ['new', 'open', 'pending', 'other'];
/** The open statuses alone, for a connector whose status filter predates `other` and refuses it. */
const CANONICAL_OPEN_STATUSES: readonly string[] = OPEN_TICKET_STATUSES.filter((s) => s !== 'other');

/** An open ticket: new, open or pending; one in status `other` unless its connector said `isOpen: false`. */
export const isOpenTicket = (ticket: { readonly status?: unknown; readonly sourceStatus?: unknown; readonly isOpen?: unknown }): boolean =>
  ticket.status === 'other' ? ticket.isOpen !== false : OPEN_TICKET_STATUSES.includes(String(ticket.status));

/** One source's share of a context answer. */
export interface ContextPart {
  /** `stale`: the live call failed and `data` is the last good answer; `error` says why. */
  readonly status: 'ok' | 'stale' | 'error' | 'skipped';
  readonly connector?: string;
  readonly version?: string;
  readonly latencyMs: number;
  readonly data?: unknown;
  readonly error?: { readonly code: ErrorCode; readonly detail: string; readonly retryable: boolean };
  readonly staleness?: Staleness;
}

export interface CustomerContext {
  readonly customerId: string;
  readonly complete: boolean;
  readonly parts: { readonly customer: ContextPart; readonly orders: ContextPart; readonly openTickets: ContextPart };
}

export interface ContextService {
  /** Profile, recent orders and open tickets. A failed source is marked, never fatal — unless the customer does not exist. */
  customerContext(customerId: string, limits: { orders: number; tickets: number }, options: CallOptions): Promise<CustomerContext>;
}

export function createContextService(deps: { query: QueryService }): ContextService {
  /**
   * `ticket.list` for the open statuses and `other`. A connector written before `other` existed
   * may refuse it in its status filter (VALIDATION_FAILED on `/params/status`, before any backend
   * call): it is asked for the open statuses alone, so its tickets still show.
   */
  async function listTickets(params: Record<string, unknown>, options: CallOptions): ReturnType<QueryService['call']> {
    try {
      return await deps.query.call('ticket.list', { ...params, status: OPEN_TICKET_STATUSES }, options);
    } catch (err) {
      const error = toAppError(err);
      const refused = (error.extensions.errors as { pointer?: string }[] | undefined)?.some((e) => e.pointer?.startsWith('/params/status') === true) ?? false;
      if (error.code !== 'VALIDATION_FAILED' || !refused) throw err;
      return deps.query.call('ticket.list', { ...params, status: CANONICAL_OPEN_STATUSES }, options);
    }
  }

  async function part(capability: string, params: Record<string, unknown>, options: CallOptions, pick: (data: unknown) => unknown, notFound?: (err: AppError) => void): Promise<ContextPart> {
    const started = performance.now();
    try {
      const result = capability === 'ticket.list' ? await listTickets(params, options) : await deps.query.call(capability, params, options);
      const base = { connector: result.source.connector, version: result.source.version, latencyMs: result.source.latencyMs, data: pick(result.data) };
      if (!result.staleness) return { status: 'ok', ...base };
      const { reason } = result.staleness;
      return { status: 'stale', ...base, staleness: result.staleness, error: { ...reason, retryable: ERROR_CATALOGUE[reason.code].retryable } };
    } catch (err) {
      const error = toAppError(err);
      if (error.code === 'NOT_FOUND') notFound?.(error);
      options.log.warn({ capability, code: error.code, err: error }, 'context part failed');
      return {
        status: 'error',
        ...(typeof error.extensions.connector === 'string' ? { connector: error.extensions.connector } : {}),
        latencyMs: Math.round(performance.now() - started),
        error: { code: error.code, detail: error.message, retryable: ERROR_CATALOGUE[error.code].retryable },
      };
    }
  }

  /** A part not asked for: the profile failed (retryable), or the customer has no id in that system (not). */
  const skipped = (code: 'UPSTREAM_UNAVAILABLE' | 'NOT_FOUND', detail: string): ContextPart => ({
    status: 'skipped',
    latencyMs: 0,
    error: { code, detail, retryable: ERROR_CATALOGUE[code].retryable },
  });
  const items = (data: unknown): unknown => (data as { items: unknown[] }).items;
  const openOnly = (data: unknown): unknown => (data as { items: { status?: unknown; isOpen?: unknown }[] }).items.filter(isOpenTicket);

  return {
    async customerContext(customerId, limits, options) {
      // The CRM is the customer master: an unknown customer is a 404, not a partial answer.
      const customer = await part('customer.get', { id: customerId }, options, (d) => d, (err) => {
        throw err;
      });
      // externalIds is optional: a profile without it (or without a system) has no id there; only
      // a profile that could not be read leaves the other systems' ids unknown.
      const profile = customer.data as { externalIds?: Record<string, string> } | undefined;
      const ids = profile?.externalIds;
      const skip = (system: string): ContextPart =>
        profile !== undefined
          ? skipped('NOT_FOUND', `${system} skipped: the customer has no id in that system`)
          : skipped('UPSTREAM_UNAVAILABLE', `${system} skipped: the customer profile, which holds the ids of the other systems, is unavailable`);
      const [orders, openTickets] = await Promise.all([
        ids?.orders ? part('order.list', { customerRef: ids.orders, pageSize: limits.orders }, options, items) : skip('orders'),
        ids?.tickets ? part('ticket.list', { requesterRef: ids.tickets, pageSize: limits.tickets }, options, openOnly) : skip('tickets'),
      ]);
      const parts = { customer, orders, openTickets };
      return { customerId, complete: Object.values(parts).every((p) => p.status === 'ok'), parts };
    },
  };
}
