import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProviderStateHandler } from 'omnigate/sdk/testing';
import { ROOT_DIR } from './contract-consumer.ts';

type StateHandlers = Record<string, ProviderStateHandler>;

export interface SeedStates {
  readonly handlers: Readonly<Record<'orders' | 'crm' | 'tickets', StateHandlers>>;
  /** The states set up so far. */
  readonly ran: Set<string>;
  /** The states that did not hold (`verifyContract` fails on them too, naming each). */
  readonly problems: string[];
}

/**
 * Provider states of the contracts. The backends serve the deterministic seed data of
 * scripts/seed.mjs, so setting a state up means checking that the seed holds it: when the seed
 * changes, the verification names the broken state instead of reporting a puzzling 404.
 */
export function seedStates(seedDir = join(ROOT_DIR, '.data/seed')): SeedStates {
  const ran = new Set<string>();
  const problems: string[] = [];
  const read = (file: string) => readFileSync(join(seedDir, file), 'utf8');
  const once = <T>(load: () => T): (() => T) => {
    let value: T | undefined;
    return () => (value ??= load());
  };
  const tsvColumn = (file: string, column: number) => once(() => new Set(read(file).split('\n').slice(1).map((line) => line.split('\t')[column])));
  const orderIds = tsvColumn('orders.tsv', 0);
  const orderCustomers = tsvColumn('orders.tsv', 1);
  const skus = tsvColumn('products.tsv', 0);
  const crm = once(() => JSON.parse(read('crm-customers.json')) as { id: number; email: string }[]);
  const tickets = once(() => JSON.parse(read('tickets.json')) as { users: { userId: string; email: string }[]; tickets: { ticketId: string; requesterId: string }[] });

  const state = <P>(name: string, check: (params: P) => boolean): StateHandlers => ({
    [name]: async (params?: unknown) => {
      ran.add(name);
      if (check(params as P)) return;
      const problem = `provider state "${name}" ${JSON.stringify(params)} does not hold in the seed data (${seedDir})`;
      problems.push(problem);
      throw new Error(problem);
    },
  });

  const handlers = {
    orders: {
      ...state<{ orderId: string }>('an order exists', (p) => orderIds().has(p.orderId)),
      ...state<{ orderId: string }>('no order exists', (p) => !orderIds().has(p.orderId)),
      ...state<{ customerNo: string }>('a customer has orders', (p) => orderCustomers().has(p.customerNo)),
      ...state<{ sku: string }>('the catalogue has a product', (p) => skus().has(p.sku)),
    },
    crm: {
      ...state<{ id: number; email?: string }>('a customer exists', (p) => crm().some((c) => c.id === p.id && (p.email === undefined || c.email === p.email))),
      ...state<{ id: number }>('no customer exists', (p) => !crm().some((c) => c.id === p.id)),
    },
    tickets: {
      ...state<{ ticketId: string }>('a ticket exists', (p) => tickets().tickets.some((t) => t.ticketId === p.ticketId)),
      ...state<{ ticketId: string }>('no ticket exists', (p) => !tickets().tickets.some((t) => t.ticketId === p.ticketId)),
      ...state<{ requesterId: string }>('a requester has tickets', (p) => tickets().tickets.some((t) => t.requesterId === p.requesterId)),
      ...state<{ requesterId: string }>('a requester exists', (p) => tickets().users.some((u) => u.userId === p.requesterId)),
      ...state<{ requesterId: string; email: string }>('a requester has an email', (p) => tickets().users.some((u) => u.userId === p.requesterId && u.email.toLowerCase() === p.email.toLowerCase())),
    },
  };
  return { handlers, ran, problems };
}
