import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConsumerContract, type ConsumerContract } from 'omnigate/sdk/testing';
import { createSchemaRegistry } from '../../../src/kernel/schemas.ts';

export const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The committed contracts: what the provider side verifies and what review sees change. */
export const CONTRACTS_DIR = join(ROOT_DIR, 'contracts');

export const schemas = createSchemaRegistry(join(ROOT_DIR, 'schemas'));

/**
 * The kit's consumer harness on this repository's contracts/: `npm run contracts:update` (which
 * sets OMNIGATE_CONTRACTS_UPDATE=1) rewrites them, any other run checks them.
 */
export function repoContract(consumer: string, provider: string): Promise<ConsumerContract> {
  return createConsumerContract({ consumer, provider, dir: CONTRACTS_DIR, updateCommand: 'npm run contracts:update' });
}
