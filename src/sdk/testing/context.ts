import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from '../../kernel/logger.ts';
import { createAjv, createSchemaRegistry, type SchemaRegistry } from '../../kernel/schemas.ts';
import { startTrace } from '../../kernel/trace.ts';
import { CONNECTOR_ENV_PREFIX, resolveConnectorConfig } from '../../modules/connectors/connector-config.ts';
import { createHttpClient } from '../http-client.ts';
import { createPools, type Pools } from '../transport.ts';
import type { AuthContext, Authenticator, Connector, ConnectorContext } from '../types.ts';

/**
 * The canonical JSON Schemas (`Customer`, `Page<Order>`, …) shipped with the SDK: `schemas/` of
 * the package, three folders above this file both in the repository (src/sdk/testing/) and in the
 * packed build (dist/sdk/testing/).
 */
export const CANONICAL_SCHEMAS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../schemas');

let canonical: SchemaRegistry | undefined;

/** The canonical schemas, as the gateway checks connector answers against them. */
export function canonicalSchemas(): SchemaRegistry {
  return (canonical ??= createSchemaRegistry(CANONICAL_SCHEMAS_DIR));
}

/** What a connector's own tests need to call it as the gateway does. */
export interface TestContexts<Config> {
  /** The context `auth()` gets: the config and an uncredentialed HTTP client on `config.baseUrl`. */
  authContext(): AuthContext<Config>;
  /**
   * A per-call context as the gateway builds it: the config, the HTTP client with `authenticator`,
   * a fresh trace, and `signal` (default: aborts after 5 s).
   */
  callContext(options?: { readonly authenticator?: Authenticator; readonly signal?: AbortSignal }): ConnectorContext<Config>;
  /** Closes the keep-alive sockets the contexts opened. */
  close(): void;
}

export interface TestContextOptions<Config> {
  readonly config: Config;
  /** Where the HTTP client sends requests; default `config.baseUrl`. Keeps its path (a context path). */
  readonly baseUrl?: string;
  /** Default: a silent logger. */
  readonly log?: Logger;
}

const DEFAULT_CALL_TIMEOUT_MS = 5_000;

/**
 * Builds the contexts a connector is called with, without a gateway: what `omnigate/sdk/testing`
 * offers in place of importing core files. One keep-alive pool per builder; `close()` it after.
 */
export function createTestContexts<Config>(options: TestContextOptions<Config>): TestContexts<Config> {
  const { config } = options;
  const baseUrl = options.baseUrl ?? String((config as { baseUrl?: unknown }).baseUrl ?? '');
  const log = options.log ?? createLogger({ level: 'silent' });
  const pools: Pools = createPools();
  return {
    authContext: () => ({ config, log, http: createHttpClient({ baseUrl, pools, log }) }),
    callContext({ authenticator, signal = AbortSignal.timeout(DEFAULT_CALL_TIMEOUT_MS) } = {}) {
      const trace = startTrace(undefined, `test-${Date.now()}`);
      return { config, log, signal, trace, http: createHttpClient({ baseUrl, pools, log, signal, trace, ...(authenticator ? { authenticator } : {}) }) };
    },
    close: () => pools.destroy(),
  };
}

/**
 * A connector's config from environment variables, exactly as the gateway reads it:
 * `OMNIGATE_CONNECTOR_<NAME>_<FIELD>` (`OMNIGATE_CONNECTOR_BILLING_SAP_BASE_URL` → `baseUrl`),
 * typed and defaulted by the connector's config schema. `problems` names every missing or invalid
 * field with the variable to set (never a value).
 */
export function configFromEnv<Config = Record<string, unknown>>(
  connector: Connector<Config>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): { config: Config; problems: string[] } {
  const settings: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith(CONNECTOR_ENV_PREFIX) && value !== undefined) settings[key.slice(CONNECTOR_ENV_PREFIX.length)] = value;
  }
  const { config, problems } = resolveConnectorConfig(createAjv({ coerceTypes: true, useDefaults: true }), connector.manifest.name, connector.manifest.configSchema, settings);
  return { config: config as Config, problems };
}
