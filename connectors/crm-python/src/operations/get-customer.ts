import type { Operation } from 'omnigate/sdk';
import type { CrmConfig } from '../config.ts';
import { toCustomer } from '../mappers/to-customer.ts';
import { raiseForDrfError } from './errors.ts';

/** customer.get {id} → Customer */
export const getCustomer: Operation<CrmConfig> = async (params, ctx) => {
  const id = String(params.id);
  const reply = await ctx.http.request({ path: `/api/customers/${encodeURIComponent(id)}/` });
  if (reply.status !== 200) raiseForDrfError(reply, `customer ${id}`);
  return toCustomer(reply.body);
};
