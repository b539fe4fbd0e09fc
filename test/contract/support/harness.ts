import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connectorEnv } from '../../../scripts/lib/backends.ts';
import { CONNECTOR_ENV_PREFIX } from '../../../src/config/config.ts';
import { createLogger } from '../../../src/kernel/logger.ts';
import { createAjv } from '../../../src/kernel/schemas.ts';
import { startTrace } from '../../../src/kernel/trace.ts';
import { resolveConnectorConfig, secretFields } from '../../../src/modules/connectors/connector-config.ts';
import { createHttpClient } from '../../../src/sdk/http-client.ts';
import { createPools, type Pools } from '../../../src/sdk/transport.ts';
import type { Authenticator, AuthContext, Connector, ConnectorContext } from '../../../src/sdk/types.ts';
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

/** The test backend a connector reaches, by its manifest's `system`. */
export type BackendName = keyof typeof TEST_URLS;
export const backendFor = (system: string): BackendName | undefined => (system in TEST_URLS ? (system as BackendName) : undefined);

/**
 * The connector's config as the gateway would build it for this test run: the backends' dev
 * settings (scripts/lib/backends.ts connectorEnv), typed and defaulted by its own schema.
 */
export function realConfig(connector: Connector): { config: Record<string, unknown>; problems: string[] } {
  const ajv = createAjv({ coerceTypes: true, useDefaults: true });
  // Keyed without the prefix, as src/config/config.ts hands the settings to the registry.
  const settings = Object.fromEntries(
    Object.entries(connectorEnv(TEST_URLS)).filter(([key]) => key.startsWith(CONNECTOR_ENV_PREFIX)).map(([key, value]) => [key.slice(CONNECTOR_ENV_PREFIX.length), value]),
  );
  return resolveConnectorConfig(ajv, connector.manifest.name, connector.manifest.configSchema, settings);
}

/** A copy of the config whose every `x-secret` field is wrong. */
export function withWrongSecrets(connector: Connector, config: Record<string, unknown>): Record<string, unknown> {
  const wrong = { ...config };
  for (const name of secretFields(connector.manifest.configSchema)) wrong[name] = `wrong-${String(config[name] ?? 'secret')}`;
  return wrong;
}

const log = createLogger({ level: 'silent' });

/** What a conformance check needs to call one connector like the gateway does. */
export interface Harness {
  readonly pools: Pools;
  authContext(config: Record<string, unknown>): AuthContext<unknown>;
  /** A per-call context as src/modules/query/query.service.ts builds it. */
  callContext(config: Record<string, unknown>, authenticator: Authenticator, signal: AbortSignal): ConnectorContext<unknown>;
  close(): void;
}

export function createHarness(): Harness {
  const pools = createPools();
  return {
    pools,
    authContext: (config) => ({ config, log, http: createHttpClient({ baseUrl: String(config.baseUrl), pools, log }) }),
    callContext(config, authenticator, signal) {
      const trace = startTrace(undefined, `conformance-${Date.now()}`);
      return { config, log, signal, trace, http: createHttpClient({ baseUrl: String(config.baseUrl), pools, log, signal, trace, authenticator }) };
    },
    close: () => pools.destroy(),
  };
}

/** How a promise ended, and when (ms since `since`). */
export type Outcome = { readonly settled: false } | { readonly settled: true; readonly ok: boolean; readonly value?: unknown; readonly error?: unknown; readonly atMs: number };

/** Waits for a promise up to `timeoutMs`; never throws, never leaves a rejection unhandled. */
export async function outcomeOf(promise: Promise<unknown>, timeoutMs: number, since = performance.now()): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ settled: false }), timeoutMs);
  });
  const settled = promise.then(
    (value): Outcome => ({ settled: true, ok: true, value, atMs: performance.now() - since }),
    (error: unknown): Outcome => ({ settled: true, ok: false, error, atMs: performance.now() - since }),
  );
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** An error's class and message, for assertion messages. */
export const describeError = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));
