import type { Operation } from 'omnigate/sdk';
import type { TicketsConfig } from '../config.ts';
import { toTicket } from '../mappers/to-ticket.ts';
import type { Rpc } from '../rpc.ts';

/** ticket.create {requesterRef, subject, description, priority?} → Ticket */
export const createTicket = (rpc: Rpc): Operation<TicketsConfig> => async (params, ctx) => {
  const result = await rpc.call(ctx, 'tickets.create', {
    requesterId: String(params.requesterRef),
    subject: params.subject,
    description: params.description,
    ...(typeof params.priority === 'string' ? { priority: params.priority } : {}),
  });
  return toTicket(result, 'result');
};
