import type { Operation } from 'omnigate/sdk';
import type { TicketsConfig } from '../config.ts';
import { toTicket } from '../mappers/to-ticket.ts';
import type { Rpc } from '../rpc.ts';

/** ticket.get {id} → Ticket */
export const getTicket = (rpc: Rpc): Operation<TicketsConfig> => async (params, ctx) =>
  toTicket(await rpc.call(ctx, 'tickets.get', { ticketId: String(params.id) }), 'result');
