import { InvalidRequestError, NotFoundError, type Operation } from 'omnigate/sdk';
import type { TicketsConfig } from '../config.ts';
import { SOURCE_STATUSES, toTicketPage } from '../mappers/to-ticket.ts';
import type { Rpc } from '../rpc.ts';

/**
 * A canonical status filter → the tickets service's: its five statuses have the canonical names,
 * and `other` (a status with no canonical name) names none of them, since its search knows only
 * those five. `[]`: nothing can match; undefined: no filter.
 */
export function sourceStatuses(status: unknown): string[] | undefined {
  if (!Array.isArray(status)) return undefined;
  return status.map(String).filter((s) => SOURCE_STATUSES.has(s));
}

/** ticket.list {requesterRef, status?, pageSize?, cursor?} → Page<Ticket>, newest first. */
export const listTickets = (rpc: Rpc): Operation<TicketsConfig> => async (params, ctx) => {
  const size = typeof params.pageSize === 'number' ? params.pageSize : 20;
  const cursor = typeof params.cursor === 'string' ? params.cursor : undefined;
  const status = sourceStatuses(params.status);
  // Only `other` asked for: no ticket of this service has it.
  if (status?.length === 0) return { items: [], page: { size, hasMore: false } };
  let result: unknown;
  try {
    result = await rpc.call(ctx, 'tickets.search', {
      requesterId: String(params.requesterRef),
      limit: size,
      ...(status === undefined ? {} : { status }),
      ...(cursor === undefined ? {} : { cursor }),
    });
  } catch (err) {
    // A cursor the service did not issue (for this requester) names a page that does not exist:
    // 404, as a page number past the end would be, not a request the caller could have checked.
    if (cursor !== undefined && err instanceof InvalidRequestError && /cursor/.test(err.message)) throw new NotFoundError(`${err.message} (no page at this cursor)`);
    throw err;
  }
  return toTicketPage(result, size);
};
