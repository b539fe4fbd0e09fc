import type { ContextPart } from '../query/context.service.ts';

/** The three parts of the agent's sidebar, as the customer context names them. */
export type SidebarPartName = 'customer' | 'orders' | 'openTickets';

/** How a part is named in a sentence, and the verb that agrees with it. */
const SUBJECTS: Readonly<Record<SidebarPartName, { readonly subject: string; readonly is: 'is' | 'are' }>> = {
  customer: { subject: 'The customer profile', is: 'is' },
  orders: { subject: 'Orders', is: 'are' },
  openTickets: { subject: 'Tickets', is: 'are' },
};

/** The system each part's records live in, for "no account there". */
const SYSTEMS: Readonly<Record<SidebarPartName, string>> = { customer: 'CRM', orders: 'orders system', openTickets: 'tickets system' };

const UNITS: readonly [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1_000],
];
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'always' });

/** `4 minutes ago`, `1 hour ago`, `3 seconds ago`: the largest whole unit, rounded down, never `0 … ago`. */
export function ago(ms: number): string {
  for (const [unit, size] of UNITS) {
    if (ms >= size) return relative.format(-Math.floor(ms / size), unit);
  }
  return relative.format(-1, 'second');
}

/**
 * One short English sentence an agent can read at a glance when a part is not `ok`
 * (`Orders are unavailable; showing data from 4 minutes ago`), or undefined when it is.
 */
export function partMessage(name: SidebarPartName, part: Pick<ContextPart, 'status' | 'error' | 'staleness'>): string | undefined {
  const { subject, is } = SUBJECTS[name];
  switch (part.status) {
    case 'ok':
      return undefined;
    case 'stale':
      return `${subject} ${is} unavailable; showing data from ${ago(part.staleness?.ageMs ?? 0)}`;
    case 'error':
      return part.error?.code === 'NOT_FOUND' ? `${subject} ${is} not found in the ${SYSTEMS[name]}` : `${subject} ${is} unavailable right now`;
    case 'skipped':
      return part.error?.code === 'NOT_FOUND'
        ? `The customer has no account in the ${SYSTEMS[name]}`
        : `${subject} cannot be shown right now: the customer profile, which links to them, is unavailable`;
  }
}

/** What every part says when the conversation has no verified customer. */
export const NO_VERIFIED_CUSTOMER: Readonly<Record<SidebarPartName | 'conversation', string>> = {
  conversation: 'The visitor is not a verified customer: there is no profile, order or ticket to show. Ask for an order number or email if you need one.',
  customer: 'No verified customer: the visitor has not signed in',
  orders: 'No orders to show: the visitor is not a verified customer',
  openTickets: 'No tickets to show: the visitor is not a verified customer',
};
