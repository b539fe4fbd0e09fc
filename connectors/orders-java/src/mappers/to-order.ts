import { field, minorToDecimal, sourceAttributes, utcFromLocal, withAttributes, type Money } from 'omnigate/sdk';

/** The orders system's own status vocabulary → the canonical one. */
export const CANONICAL_STATUS: Readonly<Record<string, string>> = {
  NEW: 'pending',
  PAYMENT_PENDING: 'pending',
  PAID: 'paid',
  IN_DELIVERY: 'shipped',
  DELIVERED: 'delivered',
  CANCELLED: 'cancelled',
  RETURNED: 'returned',
};

/** Canonical status → the orders system's statuses, for filters. */
export const SOURCE_STATUSES: Readonly<Record<string, readonly string[]>> = Object.entries(CANONICAL_STATUS).reduce<Record<string, string[]>>(
  (acc, [source, canonical]) => ({ ...acc, [canonical]: [...(acc[canonical] ?? []), source] }),
  {},
);

const minor = (value: number, currency: string): Money => ({ amount: minorToDecimal(value), currency });

/** The order and order-line fields this mapper maps; any other is kept in `attributes`. */
const MAPPED = ['orderId', 'customerNo', 'status', 'currency', 'totalAmountMinor', 'createdAt', 'lines'];
const MAPPED_LINE = ['sku', 'productName', 'quantity', 'unitPriceMinor'];

/**
 * A Spring-style order (minor units, local date-time) → canonical Order. Fields with no canonical
 * place (a line's `lineNo`, say) are kept in the order's or the line's `attributes`.
 */
export function toOrder(raw: unknown, timeZone: string, path = 'order'): Record<string, unknown> {
  const currency = field<string>(raw, 'currency', 'string', { path });
  const sourceStatus = field<string>(raw, 'status', 'string', { path });
  // A status this mapping does not know (one the orders system added since) is `other`, its word kept in sourceStatus.
  const status = CANONICAL_STATUS[sourceStatus] ?? 'other';
  const lines = field<unknown[]>(raw, 'lines', 'array', { path }).map((line, i) => {
    const at = `${path}.lines[${i}]`;
    const quantity = field<number>(line, 'quantity', 'integer', { path: at });
    const unit = field<number>(line, 'unitPriceMinor', 'integer', { path: at });
    return {
      sku: field<string>(line, 'sku', 'string', { path: at }),
      name: field<string>(line, 'productName', 'string', { path: at }),
      quantity,
      unitPrice: minor(unit, currency),
      lineTotal: minor(unit * quantity, currency),
      ...withAttributes(sourceAttributes(line, MAPPED_LINE)),
    };
  });
  return {
    id: field<string>(raw, 'orderId', 'string', { path }),
    customerRef: field<string>(raw, 'customerNo', 'string', { path }),
    status,
    sourceStatus,
    total: minor(field<number>(raw, 'totalAmountMinor', 'integer', { path }), currency),
    createdAt: utcFromLocal(field<string>(raw, 'createdAt', 'string', { path }), `${path}.createdAt`, timeZone),
    lines,
    ...withAttributes(sourceAttributes(raw, MAPPED)),
  };
}
