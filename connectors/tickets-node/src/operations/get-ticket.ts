import { InvalidRequestError, NotFoundError, type Operation } from 'omnigate/sdk';
import type { TicketsConfig } from '../config.ts';
import { toTicket } from '../mappers/to-ticket.ts';
import type { Rpc } from '../rpc.ts';

/** ticket.get {id} → Ticket */
export const getTicket = (rpc: Rpc): Operation<TicketsConfig> => async (params, ctx) => {
  try {
    return toTicket(await rpc.call(ctx, 'tickets.get', { ticketId: String(params.id) }), 'result');
  } catch (err) {
    // The id is the only param: one the service refuses to parse (blank, too long) names no ticket.
    if (err instanceof InvalidRequestError) throw new NotFoundError(`${err.message} (no such ticket)`);
    throw err;
  }
};
