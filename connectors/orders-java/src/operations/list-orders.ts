import type { Operation } from 'omnigate/sdk';
import type { OrdersConfig } from '../config.ts';
import { toOrderPage } from '../mappers/to-order-page.ts';
import { raiseForSpringError } from './errors.ts';

/** order.list {customerRef, page?, pageSize?} → Page<Order>, newest first. */
export const listOrders: Operation<OrdersConfig> = async (params, ctx) => {
  const customerRef = String(params.customerRef);
  const page = typeof params.page === 'number' ? params.page : 1;
  const size = typeof params.pageSize === 'number' ? params.pageSize : 20;
  const reply = await ctx.http.request({
    path: `/api/customers/${encodeURIComponent(customerRef)}/orders`,
    query: { page: page - 1, size },
  });
  if (reply.status !== 200) raiseForSpringError(reply, `orders of customer ${customerRef}`);
  return toOrderPage(reply.body, ctx.config.timeZone);
};
