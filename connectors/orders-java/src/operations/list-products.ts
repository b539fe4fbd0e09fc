import type { Operation } from 'omnigate/sdk';
import type { OrdersConfig } from '../config.ts';
import { toProductPage } from '../mappers/to-product.ts';
import { raiseForSpringError } from './errors.ts';

/** product.list {} → Page<Product>: the whole catalogue, in the orders system's order. */
export const listProducts: Operation<OrdersConfig> = async (_params, ctx) => {
  const reply = await ctx.http.request({ path: '/api/products' });
  if (reply.status !== 200) raiseForSpringError(reply, 'product catalogue');
  return toProductPage(reply.body);
};
