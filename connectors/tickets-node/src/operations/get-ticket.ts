import type { Operation } from 'omnigate/sdk';
import type { TicketsConfig } from '../config.ts';
import { toTicket } from '../mappers/to-ticket.ts';
import { call } from '../rpc.ts';

/** ticket.get {id} → Ticket */
export const getTicket: Operation<TicketsConfig> = async (params, ctx) =>
  toTicket(await call(ctx, 'tickets.get', { ticketId: String(params.id) }), 'result');
