import type { Operation } from 'omnigate/sdk';
import type { OrdersConfig } from '../config.ts';
import { toOrder } from '../mappers/to-order.ts';
import { raiseForSpringError } from './errors.ts';

/** order.get {id} → Order */
export const getOrder: Operation<OrdersConfig> = async (params, ctx) => {
  const id = String(params.id);
  const reply = await ctx.http.request({ path: `/api/orders/${encodeURIComponent(id)}` });
  if (reply.status !== 200) raiseForSpringError(reply, `order ${id}`);
  return toOrder(reply.body, ctx.config.timeZone);
};
