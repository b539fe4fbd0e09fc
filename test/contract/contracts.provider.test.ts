// Provider side: every committed contract in contracts/ is replayed against the real backend of
// this test run, with the kit's verifyContract. A backend change that breaks what a connector
// relies on fails here.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { verifyContract } from 'omnigate/sdk/testing';
import { port, TEST_URLS } from '../support/ports.ts';
import { CONTRACTS_DIR } from './support/contract-consumer.ts';
import { createCredentialFilters } from './support/contract-credentials.ts';
import { seedStates } from './support/contract-states.ts';

/** The verifier's local port in this run (moved by OMNIGATE_TEST_PORT_OFFSET like the others). */
const VERIFIER_PORT = port(18090);

const credentials = createCredentialFilters(TEST_URLS);
after(() => credentials.close());

const CONTRACTS = [
  { file: 'orders-java-orders.json', system: 'orders' },
  { file: 'crm-python-crm.json', system: 'crm' },
  { file: 'tickets-node-tickets.json', system: 'tickets' },
] as const;

for (const { file, system } of CONTRACTS) {
  test(`the ${system} backend honours contracts/${file}`, async () => {
    const states = seedStates();
    const verified = await verifyContract({
      pactFile: join(CONTRACTS_DIR, file),
      providerBaseUrl: TEST_URLS[system],
      port: VERIFIER_PORT,
      stateHandlers: states.handlers[system],
      requestFilter: credentials.filters[system],
    });
    // verifyContract already fails on a state that did not hold or was never set up: this only
    // shows the seed checks really ran.
    assert.deepEqual(states.problems, [], 'provider states did not hold');
    assert.deepEqual([...verified.states].sort(), [...states.ran].sort(), 'every provider state of the contract was set up from the seed');
  });
}
