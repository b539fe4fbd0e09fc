import { BadUpstreamDataError, field, minorToDecimal, sourceAttributes, withAttributes } from 'omnigate/sdk';

const MAPPED = ['sku', 'name', 'unitPriceMinor', 'currency'];

/** A catalogue entry of the orders system ({sku,name,unitPriceMinor,currency}) → canonical Product; other fields in `attributes`. */
export function toProduct(raw: unknown, path = 'product'): Record<string, unknown> {
  return {
    sku: field<string>(raw, 'sku', 'string', { path }),
    name: field<string>(raw, 'name', 'string', { path }),
    price: { amount: minorToDecimal(field<number>(raw, 'unitPriceMinor', 'integer', { path })), currency: field<string>(raw, 'currency', 'string', { path }) },
    ...withAttributes(sourceAttributes(raw, MAPPED)),
  };
}

/**
 * The whole catalogue (one JSON array, no paging on the backend) → one canonical page holding
 * every product, so `product.list` answers like the other lists (`Page<Product>`).
 */
export function toProductPage(raw: unknown): Record<string, unknown> {
  if (!Array.isArray(raw)) throw new BadUpstreamDataError('(body)', 'the product catalogue should be an array');
  const items = raw.map((product, i) => toProduct(product, `[${i}]`));
  return { items, page: { number: 1, size: Math.max(1, items.length), totalItems: items.length, hasMore: false } };
}
