import type { Operation } from 'omnigate/sdk';
import type { CrmConfig } from '../config.ts';
import { toCustomerPage } from '../mappers/to-customer-page.ts';
import { raiseForDrfError } from './errors.ts';

/** customer.list {email?, page?, pageSize?} → Page<Customer> */
export const listCustomers: Operation<CrmConfig> = async (params, ctx) => {
  const page = typeof params.page === 'number' ? params.page : 1;
  const size = typeof params.pageSize === 'number' ? params.pageSize : 20;
  const email = typeof params.email === 'string' ? params.email : undefined;
  const reply = await ctx.http.request({ path: '/api/customers/', query: { page, page_size: size, email } });
  // DRF answers 404 "Invalid page." past the last page: for a list that is simply empty.
  if (reply.status === 404 && page > 1) return { items: [], page: { number: page, size, hasMore: false } };
  if (reply.status !== 200) raiseForDrfError(reply, 'customer list');
  return toCustomerPage(reply.body, page, size);
};
