import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { Logger } from '../../kernel/logger.ts';
import { createAjv, toIssues, type SchemaRegistry } from '../../kernel/schemas.ts';
import { isConnector } from '../../sdk/define-connector.ts';
import { createHttpClient } from '../../sdk/http-client.ts';
import { createPools, type Pools } from '../../sdk/transport.ts';
import type { Authenticator, CapabilityDeclaration, Connector, ConnectorManifest } from '../../sdk/types.ts';
import { resolveConnectorConfig } from './connector-config.ts';
import { MANIFEST_SCHEMA } from './manifest.schema.ts';

export const DEFAULT_STAGE_TIMEOUT_MS = 5_000;
export const DEFAULT_RETRY_MIN_MS = 2_000;
export const DEFAULT_RETRY_MAX_MS = 60_000;

/** Where loading a connector stopped. */
export type LoadStage = 'load' | 'manifest' | 'config' | 'auth' | 'health';

/** `ready`: serving. `unhealthy`: serving, but its health check fails. `failed`: not serving. */
export type ConnectorState = 'ready' | 'unhealthy' | 'failed';

/** One loaded (or failed) connector, as the registry keeps it. */
export interface ConnectorEntry {
  readonly name: string;
  readonly folder: string;
  readonly manifest?: ConnectorManifest;
  readonly state: ConnectorState;
  readonly loadedAt: string;
  readonly problem?: { readonly stage: LoadStage; readonly message: string };
  /** Set once manifest and config passed; the core calls through it. */
  readonly runtime?: ConnectorRuntime;
}

/** What the query service needs to call a connector. */
export interface ConnectorRuntime {
  readonly connector: Connector;
  readonly config: Record<string, unknown>;
  readonly baseUrl: string;
  /** Its own keep-alive connections to the backend, closed with it. */
  readonly pools: Pools;
  authenticator?: Authenticator;
  readonly params: ReadonlyMap<string, ValidateFunction>;
  readonly capabilities: ReadonlyMap<string, CapabilityDeclaration>;
}

export interface ConnectorRegistry {
  /** Loads every connector of the folder; a broken one is recorded, never thrown. */
  start(): Promise<void>;
  list(): readonly ConnectorEntry[];
  /** The connector serving a capability (a failed one if no other declares it): undefined if none does. */
  route(capability: string): ConnectorEntry | undefined;
  /** The connector reaching a system (for the proxy). */
  bySystem(system: string): ConnectorEntry | undefined;
  close(): Promise<void>;
}

export interface ConnectorRegistryDeps {
  readonly log: Logger;
  readonly connectorsDir: string;
  readonly connectorEnv: Readonly<Record<string, string>>;
  readonly schemas: SchemaRegistry;
  readonly stageTimeoutMs?: number;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
}

class LoadError extends Error {
  readonly stage: LoadStage;
  constructor(stage: LoadStage, message: string, options?: ErrorOptions) {
    super(message, options);
    this.stage = stage;
  }
}

export function createConnectorRegistry(deps: ConnectorRegistryDeps): ConnectorRegistry {
  const log = deps.log.child({ module: 'connectors' });
  const stageTimeoutMs = deps.stageTimeoutMs ?? DEFAULT_STAGE_TIMEOUT_MS;
  // Env settings arrive as strings and are coerced; call params arrive as JSON and are not.
  const ajv = createAjv({ coerceTypes: true, useDefaults: true });
  const paramsAjv = createAjv({ useDefaults: true });
  const validateManifest = ajv.compile(MANIFEST_SCHEMA);
  const entries = new Map<string, ConnectorEntry>();
  const retryTimers = new Set<NodeJS.Timeout>();
  let closed = false;

  async function importConnector(folder: string): Promise<Connector> {
    const dir = join(deps.connectorsDir, folder);
    let main = 'src/index.ts';
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { main?: unknown };
      if (typeof pkg.main === 'string') main = pkg.main;
    } catch (err) {
      throw new LoadError('load', `package.json is missing or not JSON: ${(err as Error).message}`, { cause: err });
    }
    let module: { default?: unknown };
    try {
      module = (await import(pathToFileURL(join(dir, main)).href)) as { default?: unknown };
    } catch (err) {
      throw new LoadError('load', `could not import ${main}: ${(err as Error).message}`, { cause: err });
    }
    if (!isConnector(module.default)) throw new LoadError('load', `${main} must export default defineConnector({...})`);
    return module.default;
  }

  function checkManifest(connector: Connector): ConnectorManifest {
    if (!validateManifest(connector.manifest)) {
      throw new LoadError('manifest', toIssues(validateManifest.errors).map((i) => `manifest.${i.message}`).join('; '));
    }
    for (const capability of connector.manifest.capabilities) {
      try {
        deps.schemas.validatorFor(capability.result);
      } catch (err) {
        throw new LoadError('manifest', `capability ${capability.name}: ${(err as Error).message}`);
      }
    }
    return connector.manifest;
  }

  function buildRuntime(connector: Connector, manifest: ConnectorManifest): ConnectorRuntime {
    const { config, problems } = resolveConnectorConfig(ajv, manifest.name, manifest.configSchema, deps.connectorEnv);
    if (problems.length > 0) throw new LoadError('config', problems.join('; '));
    const params = new Map<string, ValidateFunction>();
    for (const capability of manifest.capabilities) {
      try {
        params.set(capability.name, paramsAjv.compile(capability.params));
      } catch (err) {
        throw new LoadError('manifest', `capability ${capability.name}: params schema: ${(err as Error).message}`);
      }
    }
    return {
      connector,
      config,
      baseUrl: String(config.baseUrl),
      pools: createPools(),
      params,
      capabilities: new Map(manifest.capabilities.map((c) => [c.name, c])),
    };
  }

  async function withDeadline<T>(stage: LoadStage, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`${stage} took longer than ${stageTimeoutMs} ms`)), stageTimeoutMs);
    try {
      return await Promise.race([
        work(controller.signal),
        new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error))),
      ]);
    } catch (err) {
      throw new LoadError(stage, (err as Error).message, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** auth then health; on success the connector serves. */
  async function connect(name: string, runtime: ConnectorRuntime): Promise<Pick<ConnectorEntry, 'state' | 'problem'>> {
    const connectorLog = log.child({ connector: name });
    runtime.authenticator = await withDeadline('auth', (signal) =>
      runtime.connector.auth({ config: runtime.config, log: connectorLog, http: createHttpClient({ baseUrl: runtime.baseUrl, pools: runtime.pools, log: connectorLog, signal }) }),
    );
    try {
      const report = await withDeadline('health', (signal) =>
        runtime.connector.health({
          config: runtime.config,
          log: connectorLog,
          signal,
          trace: { traceId: '0'.repeat(31) + '1', spanId: '0'.repeat(15) + '1', sampled: false, requestId: 'health' },
          http: createHttpClient({ baseUrl: runtime.baseUrl, pools: runtime.pools, log: connectorLog, signal, ...(runtime.authenticator ? { authenticator: runtime.authenticator } : {}) }),
        }),
      );
      if (!report.ok) return { state: 'unhealthy', problem: { stage: 'health', message: report.detail ?? 'health check failed' } };
    } catch (err) {
      return { state: 'unhealthy', problem: { stage: 'health', message: (err as Error).message } };
    }
    return { state: 'ready' };
  }

  async function loadOne(folder: string): Promise<void> {
    let name = folder;
    let manifest: ConnectorManifest | undefined;
    let runtime: ConnectorRuntime | undefined;
    try {
      const connector = await importConnector(folder);
      manifest = checkManifest(connector);
      name = manifest.name;
      runtime = buildRuntime(connector, manifest);
      const outcome = await connect(name, runtime);
      record({ name, folder, manifest, runtime, loadedAt: new Date().toISOString(), ...outcome });
      if (outcome.state === 'unhealthy') scheduleRetry(name, runtime, deps.retryMinMs ?? DEFAULT_RETRY_MIN_MS);
    } catch (err) {
      const stage = err instanceof LoadError ? err.stage : 'load';
      const problem = { stage, message: (err as Error).message };
      record({ name, folder, state: 'failed', problem, loadedAt: new Date().toISOString(), ...(manifest ? { manifest } : {}), ...(runtime ? { runtime } : {}) });
      // A backend that is down at start may come back: retry auth (and health, above). A broken package needs a fix.
      if (runtime && stage === 'auth') scheduleRetry(name, runtime, deps.retryMinMs ?? DEFAULT_RETRY_MIN_MS);
    }
  }

  function record(entry: ConnectorEntry): void {
    entries.set(entry.name, entry);
    const fields = { connector: entry.name, version: entry.manifest?.version, state: entry.state, problem: entry.problem };
    if (entry.state === 'ready') log.info(fields, 'connector ready');
    else if (entry.state === 'unhealthy') log.warn(fields, 'connector loaded but unhealthy');
    else log.error(fields, 'connector failed to load');
  }

  function scheduleRetry(name: string, runtime: ConnectorRuntime, delayMs: number): void {
    if (closed) return;
    const timer = setTimeout(async () => {
      retryTimers.delete(timer);
      const current = entries.get(name);
      if (closed || current?.runtime !== runtime) return;
      const next = Math.min(delayMs * 2, deps.retryMaxMs ?? DEFAULT_RETRY_MAX_MS);
      try {
        const outcome = await connect(name, runtime);
        const { problem: _solved, ...rest } = current;
        record({ ...rest, ...outcome, loadedAt: new Date().toISOString() });
        if (outcome.state !== 'ready') scheduleRetry(name, runtime, next);
      } catch (err) {
        log.warn({ connector: name, err }, 'connector retry failed');
        scheduleRetry(name, runtime, next);
      }
    }, delayMs);
    timer.unref();
    retryTimers.add(timer);
  }

  return {
    async start() {
      if (!existsSync(deps.connectorsDir)) {
        log.error({ dir: deps.connectorsDir }, 'connectors folder not found');
        return;
      }
      // Links count too: a connector folder may be a symlink to a package elsewhere.
      const folders = readdirSync(deps.connectorsDir)
        .filter((name) => existsSync(join(deps.connectorsDir, name, 'package.json')))
        .sort();
      await Promise.all(folders.map(loadOne));
    },
    list: () => [...entries.values()].sort((a, b) => a.name.localeCompare(b.name)),
    route(capability) {
      const declaring = [...entries.values()].filter((e) => e.manifest?.capabilities.some((c) => c.name === capability));
      return declaring.find((e) => e.state !== 'failed') ?? declaring[0];
    },
    bySystem(system) {
      const matching = [...entries.values()].filter((e) => e.manifest?.system === system);
      return matching.find((e) => e.state !== 'failed') ?? matching[0];
    },
    async close() {
      closed = true;
      for (const timer of retryTimers) clearTimeout(timer);
      await Promise.allSettled([...entries.values()].map((e) => e.runtime?.connector.close()));
      for (const entry of entries.values()) entry.runtime?.pools.destroy();
    },
  };
}
