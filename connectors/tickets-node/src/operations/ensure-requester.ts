import type { Operation } from 'omnigate/sdk';
import type { TicketsConfig } from '../config.ts';
import { toRequester } from '../mappers/to-requester.ts';
import type { Rpc } from '../rpc.ts';

/**
 * requester.ensure {email, name?} → Requester: the tickets system's requester with that email,
 * made when there is none. The backend matches by email, so a repeat returns the same one.
 */
export const ensureRequester = (rpc: Rpc): Operation<TicketsConfig> => async (params, ctx) => {
  const result = await rpc.call(ctx, 'requesters.ensure', {
    email: params.email,
    ...(typeof params.name === 'string' ? { name: params.name } : {}),
  });
  return toRequester(result, 'result');
};
