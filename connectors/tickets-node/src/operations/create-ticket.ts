import type { Operation } from 'omnigate/sdk';
import type { TicketsConfig } from '../config.ts';
import { toTicket } from '../mappers/to-ticket.ts';
import type { Rpc } from '../rpc.ts';

/**
 * ticket.create {requesterRef, subject, description, priority?, channel?, idempotencyKey?} → Ticket. The key
 * goes to the backend as its client request id: a create it has seen returns the ticket made then.
 */
export const createTicket = (rpc: Rpc): Operation<TicketsConfig> => async (params, ctx) => {
  const result = await rpc.call(ctx, 'tickets.create', {
    requesterId: String(params.requesterRef),
    subject: params.subject,
    description: params.description,
    ...(typeof params.priority === 'string' ? { priority: params.priority } : {}),
    ...(typeof params.channel === 'string' ? { channel: params.channel } : {}),
    ...(typeof params.idempotencyKey === 'string' ? { clientRequestId: params.idempotencyKey } : {}),
  });
  return toTicket(result, 'result');
};
