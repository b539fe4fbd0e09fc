import type { Operation } from 'omnigate/sdk';
import type { TicketsConfig } from '../config.ts';
import { toTicketPage } from '../mappers/to-ticket.ts';
import type { Rpc } from '../rpc.ts';

/** ticket.list {requesterRef, status?, pageSize?, cursor?} → Page<Ticket>, newest first. */
export const listTickets = (rpc: Rpc): Operation<TicketsConfig> => async (params, ctx) => {
  const size = typeof params.pageSize === 'number' ? params.pageSize : 20;
  const result = await rpc.call(ctx, 'tickets.search', {
    requesterId: String(params.requesterRef),
    limit: size,
    ...(Array.isArray(params.status) ? { status: params.status } : {}),
    ...(typeof params.cursor === 'string' ? { cursor: params.cursor } : {}),
  });
  return toTicketPage(result, size);
};
