import type { ContextPart, CustomerContext } from '../query/context.service.ts';
import type { FactSource, FactValue } from './routing.types.ts';

/** The business facts routing reads, by source. */
export const BUSINESS_FACTS = {
  customer: ['customer.tier', 'customer.language', 'customer.lifetimeValueEur'],
  orders: ['orders.openCount', 'orders.openValueMaxEur'],
  tickets: ['tickets.openCount', 'tickets.openUrgentCount'],
} as const;

export type BusinessSource = keyof typeof BUSINESS_FACTS;

/**
 * Orders that still need the customer (or the shop): not yet delivered, cancelled or returned;
 * and `other` (a status of the source with no canonical name), which is not known to be finished.
 */
export const OPEN_ORDER_STATUSES: readonly string[] = ['pending', 'paid', 'shipped', 'other'];

/** Business facts with where each group came from. */
export interface BusinessFacts {
  readonly facts: Record<string, FactValue>;
  readonly sources: FactSource[];
}

interface Money {
  readonly amount: string;
  readonly currency: string;
}

const eur = (money: Money | undefined): number | null => (money?.currency === 'EUR' ? Number(money.amount) : null);

/** Every business fact unknown, each source missing for `reason` (`NO_CUSTOMER`, `UPSTREAM_TIMEOUT` …). */
export function unknownBusinessFacts(reason: string): BusinessFacts {
  const facts: Record<string, FactValue> = {};
  for (const names of Object.values(BUSINESS_FACTS)) for (const name of names) facts[name] = null;
  return { facts, sources: (Object.keys(BUSINESS_FACTS) as BusinessSource[]).map((name) => ({ name, status: 'missing', reason })) };
}

/** What each source's data says, as facts. */
const readers: Record<BusinessSource, (data: unknown) => Record<string, FactValue>> = {
  customer(data) {
    const c = data as { tier?: string; language?: string; lifetimeValue?: Money };
    // A CRM without tiers (or languages) leaves those facts unknown: rules on them are `unknown`.
    return { 'customer.tier': c.tier ?? null, 'customer.language': c.language ?? null, 'customer.lifetimeValueEur': eur(c.lifetimeValue) };
  },
  orders(data) {
    const open = (data as { status: string; total?: Money }[]).filter((o) => OPEN_ORDER_STATUSES.includes(o.status));
    const values = open.map((o) => eur(o.total)).filter((v): v is number => v !== null);
    // Open orders in other currencies only: their value in EUR is not known.
    const max = open.length === 0 ? 0 : values.length === 0 ? null : Math.max(...values);
    return { 'orders.openCount': open.length, 'orders.openValueMaxEur': max };
  },
  tickets(data) {
    // The context holds open tickets only (new, open, pending, and `other` unless said closed: isOpenTicket).
    const open = data as { priority?: string }[];
    return { 'tickets.openCount': open.length, 'tickets.openUrgentCount': open.filter((t) => t.priority === 'urgent').length };
  },
};

/**
 * Turns a customer context into facts: a live part is `ok`, the last good answer of a failed one
 * `stale` (its facts are used, with when they were read), anything else `missing` with why.
 * `timedOut`: the gathering's deadline cut the context short; parts that were still running then
 * (failed as abandoned, or never asked because the profile was not back) are `UPSTREAM_TIMEOUT`.
 */
export function businessFacts(context: CustomerContext, fetchedAt: string, timedOut: boolean): BusinessFacts {
  const parts: Record<BusinessSource, ContextPart> = { customer: context.parts.customer, orders: context.parts.orders, tickets: context.parts.openTickets };
  const facts: Record<string, FactValue> = {};
  const sources: FactSource[] = [];
  for (const name of Object.keys(parts) as BusinessSource[]) {
    const part = parts[name];
    const connector = part.connector === undefined ? {} : { connector: part.connector };
    if ((part.status === 'ok' || part.status === 'stale') && part.data !== undefined) {
      Object.assign(facts, readers[name](part.data));
      sources.push(part.status === 'ok'
        ? { name, ...connector, status: 'ok', fetchedAt }
        : { name, ...connector, status: 'stale', fetchedAt: part.staleness?.storedAt ?? fetchedAt, ...(part.staleness ? { reason: part.staleness.reason.code } : {}) });
      continue;
    }
    for (const fact of BUSINESS_FACTS[name]) facts[fact] = null;
    sources.push({ name, ...connector, status: 'missing', reason: missingReason(part, timedOut) });
  }
  return { facts, sources };
}

function missingReason(part: ContextPart, timedOut: boolean): string {
  const code = part.error?.code;
  // Skipped as NOT_FOUND: the customer has no id in that system, which so provides nothing.
  if (part.status === 'skipped' && code === 'NOT_FOUND') return 'NOT_PROVIDED';
  if (timedOut && (code === undefined || part.error?.retryable === true)) return 'UPSTREAM_TIMEOUT';
  return code ?? 'UPSTREAM_UNAVAILABLE';
}
