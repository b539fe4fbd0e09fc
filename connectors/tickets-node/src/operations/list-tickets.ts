import { InvalidRequestError, NotFoundError, type Operation } from 'omnigate/sdk';
import type { TicketsConfig } from '../config.ts';
import { toTicketPage } from '../mappers/to-ticket.ts';
import type { Rpc } from '../rpc.ts';

/** ticket.list {requesterRef, status?, pageSize?, cursor?} → Page<Ticket>, newest first. */
export const listTickets = (rpc: Rpc): Operation<TicketsConfig> => async (params, ctx) => {
  const size = typeof params.pageSize === 'number' ? params.pageSize : 20;
  const cursor = typeof params.cursor === 'string' ? params.cursor : undefined;
  let result: unknown;
  try {
    result = await rpc.call(ctx, 'tickets.search', {
      requesterId: String(params.requesterRef),
      limit: size,
      ...(Array.isArray(params.status) ? { status: params.status } : {}),
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
