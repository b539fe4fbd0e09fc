import { field } from 'omnigate/sdk';
import { toOrder } from './to-order.ts';

/** A Spring page ({content,totalElements,number,size}, 0-based) → canonical page (1-based). */
export function toOrderPage(raw: unknown, timeZone: string): Record<string, unknown> {
  const content = field<unknown[]>(raw, 'content', 'array');
  const number = field<number>(raw, 'number', 'integer');
  const size = field<number>(raw, 'size', 'integer');
  const totalElements = field<number>(raw, 'totalElements', 'integer');
  return {
    items: content.map((order, i) => toOrder(order, timeZone, `content[${i}]`)),
    page: { number: number + 1, size, totalItems: totalElements, hasMore: (number + 1) * size < totalElements },
  };
}
