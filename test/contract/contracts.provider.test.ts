// Provider side: every committed contract in contracts/ is replayed against the real backend of
// this test run. A backend change that breaks what a connector relies on fails here.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Verifier } from '@pact-foundation/pact';
import { TEST_URLS } from '../support/ports.ts';
import { CONTRACTS_DIR } from './support/contract-consumer.ts';
import { createCredentialFilters } from './support/contract-credentials.ts';
import { seedStates } from './support/contract-states.ts';

const credentials = createCredentialFilters(TEST_URLS);
after(() => credentials.close());

const CONTRACTS = [
  { file: 'orders-java-orders.json', system: 'orders' },
  { file: 'crm-python-crm.json', system: 'crm' },
  { file: 'tickets-node-tickets.json', system: 'tickets' },
] as const;

for (const { file, system } of CONTRACTS) {
  test(`the ${system} backend honours contracts/${file}`, async () => {
    const pactFile = join(CONTRACTS_DIR, file);
    assert.ok(existsSync(pactFile), `contracts/${file} is missing`);
    const states = seedStates();
    await new Verifier({
      provider: system,
      providerBaseUrl: TEST_URLS[system],
      pactUrls: [pactFile],
      stateHandlers: states.handlers[system],
      requestFilter: credentials.filters[system],
      logLevel: 'error',
    }).verifyProvider();
    assert.deepEqual(states.problems, [], 'provider states did not hold');
    assert.deepEqual([...statesOf(pactFile)].filter((s) => !states.ran.has(s)), [], 'provider states were never set up');
  });
}

function statesOf(pactFile: string): Set<string> {
  const pact = JSON.parse(readFileSync(pactFile, 'utf8')) as { interactions: { providerStates?: { name: string }[] }[] };
  return new Set(pact.interactions.flatMap((i) => (i.providerStates ?? []).map((s) => s.name)));
}
