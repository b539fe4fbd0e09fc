import { field } from 'omnigate/sdk';
import { toCustomer } from './to-customer.ts';

/** A DRF page ({count,next,previous,results}) → canonical page. */
export function toCustomerPage(raw: unknown, page: number, size: number): Record<string, unknown> {
  const results = field<unknown[]>(raw, 'results', 'array');
  const count = field<number>(raw, 'count', 'integer');
  const next = field<string>(raw, 'next', 'string', { optional: true });
  return {
    items: results.map((customer, i) => toCustomer(customer, `results[${i}]`)),
    page: { number: page, size, totalItems: count, hasMore: next !== undefined },
  };
}
