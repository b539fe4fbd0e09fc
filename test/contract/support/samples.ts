import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CapabilitySample } from '../../../src/sdk/testing/index.ts';
import { ROOT_DIR } from '../../support/gateway.ts';

/** The seed customer every sample hangs off; the CRM holds their ids in the other systems. */
export const SEED_CUSTOMER_ID = '42';

interface SeedCustomer {
  readonly id: number;
  readonly email: string;
  readonly external_ids: { readonly orders_customer_no: string; readonly tickets_user_id: string };
}

/** Customer 42 as the CRM serves it, read from the seed the backends of this run were started with. */
function seedCustomer(): SeedCustomer {
  const customers = JSON.parse(readFileSync(join(ROOT_DIR, '.data/seed/crm-customers.json'), 'utf8')) as SeedCustomer[];
  const customer = customers.find((c) => String(c.id) === SEED_CUSTOMER_ID);
  if (!customer) throw new Error(`seed customer ${SEED_CUSTOMER_ID} is missing from .data/seed/crm-customers.json: run node scripts/seed.mjs`);
  return customer;
}

const customer = seedCustomer();

/**
 * Sample params per capability name, from the shared seed (ids that exist in every run), for
 * describeConformance. A connector that declares a capability missing here fails the suite: add
 * its samples here. Commands are never executed against a backend (they would change what other
 * tests read): their samples are checked against the params schema, and their error mapping is
 * exercised through the fault proxy, which never forwards a faulted request.
 */
export const SAMPLES: Readonly<Record<string, CapabilitySample>> = {
  'customer.get': { valid: { id: SEED_CUSTOMER_ID }, unknown: { id: '999999999' } },
  'customer.list': { valid: { email: customer.email, page: 1, pageSize: 5 } },
  'order.get': { valid: { id: 'ORD-0000001' }, unknown: { id: 'ORD-9999999' } },
  'order.list': { valid: { customerRef: customer.external_ids.orders_customer_no, page: 1, pageSize: 5 } },
  'product.list': { valid: {} },
  'ticket.get': { valid: { id: 'TCK-100001' }, unknown: { id: 'TCK-999999' } },
  'ticket.list': { valid: { requesterRef: customer.external_ids.tickets_user_id, pageSize: 5 } },
  'ticket.create': {
    valid: { requesterRef: customer.external_ids.tickets_user_id, subject: 'Conformance probe', description: 'Never sent: commands are not executed by the suite.' },
  },
  'requester.ensure': { valid: { email: customer.email } },
};

export const SAMPLES_FILE = 'test/contract/support/samples.ts';
