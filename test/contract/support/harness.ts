import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connectorEnv } from '../../../scripts/lib/backends.ts';
import { configFromEnv } from '../../../src/sdk/testing/index.ts';
import type { Connector } from '../../../src/sdk/types.ts';
import { ROOT_DIR } from '../../support/gateway.ts';
import { TEST_URLS } from '../../support/ports.ts';

export const CONNECTORS_DIR = join(ROOT_DIR, 'connectors');

/** A connector package found in connectors/, imported as the registry imports it. */
export interface Candidate {
  readonly folder: string;
  readonly pkg: { readonly name?: unknown; readonly version?: unknown; readonly main?: unknown };
  /** The module's default export (anything: the suite checks it), or why the import failed. */
  readonly exported: unknown;
  readonly importError?: Error;
}

/** Every folder of connectors/ with a package.json, in name order. */
export async function discoverConnectors(dir = CONNECTORS_DIR): Promise<Candidate[]> {
  const folders = readdirSync(dir).filter((f) => existsSync(join(dir, f, 'package.json'))).sort();
  return Promise.all(
    folders.map(async (folder): Promise<Candidate> => {
      const pkg = JSON.parse(readFileSync(join(dir, folder, 'package.json'), 'utf8')) as Candidate['pkg'];
      const main = typeof pkg.main === 'string' ? pkg.main : 'src/index.ts';
      try {
        const module = (await import(pathToFileURL(join(dir, folder, main)).href)) as { default?: unknown };
        return { folder, pkg, exported: module.default };
      } catch (err) {
        return { folder, pkg, exported: undefined, importError: err as Error };
      }
    }),
  );
}

/**
 * The connector's config as the gateway would build it for this test run: the backends' dev
 * settings (scripts/lib/backends.ts connectorEnv), typed and defaulted by its own schema.
 */
export function realConfig(connector: Connector): { config: Record<string, unknown>; problems: string[] } {
  return configFromEnv<Record<string, unknown>>(connector, connectorEnv(TEST_URLS));
}
