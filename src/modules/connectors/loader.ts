import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { Logger } from '../../kernel/logger.ts';
import { createAjv, toIssues } from '../../kernel/schemas.ts';
import { businessKeyProblems } from '../../sdk/business-key-path.ts';
import type { ConnectorManifest } from '../../sdk/types.ts';
import { resolveConnectorConfig } from './connector-config.ts';
import { createWorkerHost, type WorkerVitals } from './host/worker-host.ts';
import { MANIFEST_SCHEMA } from './manifest.schema.ts';
import type { StoredPackage } from './package-store.ts';
import type { ConnectorRegistryDeps, ConnectorVersion, LoadStage, Problem } from './registry.types.ts';
import { now, type Slots } from './slots.ts';

/** A health check that takes longer counts as failed. */
export const HEALTH_CHECK_TIMEOUT_MS = 5_000;

/** Why a version could not be loaded, and at which stage. */
export class StageError extends Error {
  readonly stage: LoadStage;
  constructor(stage: LoadStage, message: string, options?: ErrorOptions) {
    super(message, options);
    this.stage = stage;
  }
}

/** Loading one version up to the swap (worker, manifest, config, auth), and its health check. */
export interface Loader {
  /** A version that may serve, or a StageError. */
  /** `checkPackage`: the package.json must agree with the manifest on name and version (an install). */
  prepare(pkg: StoredPackage, label: string, expectedName: string | undefined, onDeath: (version: ConnectorVersion, reason: string) => void, checkPackage?: boolean): Promise<ConnectorVersion>;
  /** What is wrong with a version's health, if anything. */
  healthOf(version: ConnectorVersion): Promise<Problem | undefined>;
}

/** The loader of one registry: its validators are compiled once. */
export function createLoader(deps: ConnectorRegistryDeps, log: Logger, slots: Slots): Loader {
  // Env settings arrive as strings and are coerced; call params arrive as JSON and are not.
  const configAjv = createAjv({ coerceTypes: true, useDefaults: true });
  const paramsAjv = createAjv({ useDefaults: true });
  const validateManifest = configAjv.compile(MANIFEST_SCHEMA);

  function checkManifest(manifest: ConnectorManifest, expectedName: string | undefined): void {
    if (!validateManifest(manifest)) throw new StageError('manifest', toIssues(validateManifest.errors).map((i) => `manifest.${i.message}`).join('; '));
    if (expectedName && manifest.name !== expectedName) throw new StageError('manifest', `the package is connector ${manifest.name}, not ${expectedName}`);
    const keyProblems = manifest.capabilities.flatMap((capability) => businessKeyProblems(capability));
    if (keyProblems.length > 0) throw new StageError('manifest', keyProblems.join('; '));
    for (const capability of manifest.capabilities) {
      try {
        deps.schemas.validatorFor(capability.result);
      } catch (err) {
        throw new StageError('manifest', `capability ${capability.name}: ${(err as Error).message}`);
      }
    }
  }

  /**
   * An uploaded package says what it is twice: package.json and the manifest. Both must agree, or
   * the admin would see one version listed and another installed. The package name is the
   * connector's name, optionally prefixed `connector-` and scoped (`@omnigate/connector-echo`).
   */
  function checkPackageAgrees(pkg: StoredPackage, manifest: ConnectorManifest): void {
    if (pkg.version !== manifest.version) {
      throw new StageError('manifest', `package.json version ${pkg.version} does not match the manifest's version ${manifest.version}: set both to the same version`);
    }
    const bare = pkg.name?.replace(/^@[^/]+\//, '');
    if (bare !== manifest.name && bare !== `connector-${manifest.name}`) {
      throw new StageError('manifest', `package.json name ${pkg.name ?? '(none)'} does not match the manifest's name ${manifest.name}: name the package ${manifest.name} or connector-${manifest.name} (a scope is allowed)`);
    }
  }

  async function prepare(pkg: StoredPackage, label: string, expectedName: string | undefined, onDeath: (version: ConnectorVersion, reason: string) => void, checkPackage = false): Promise<ConnectorVersion> {
    const connectorLog = log.child({ connector: label });
    const { onWorkerVitals } = deps;
    let version: ConnectorVersion | undefined;
    const host = createWorkerHost({
      name: label,
      moduleUrl: pathToFileURL(join(pkg.dir, pkg.entry)).href,
      log: connectorLog,
      ...(deps.workerHeapMb ? { heapMb: deps.workerHeapMb } : {}),
      ...(deps.telemetry ? { telemetry: deps.telemetry } : {}),
      ...(deps.secrets ? { secrets: deps.secrets } : {}),
      onDeath: (reason) => version && onDeath(version, reason),
      ...(onWorkerVitals ? { onVitals: (vitals: WorkerVitals) => onWorkerVitals(label, vitals) } : {}),
    });
    try {
      let manifest: ConnectorManifest;
      try {
        manifest = await host.load();
      } catch (err) {
        throw new StageError('load', (err as Error).message, { cause: err });
      }
      // Known even if a later stage fails, so that its capabilities answer "unavailable", not "unknown".
      const labelled = slots.byName.get(label);
      if (labelled && !labelled.active) labelled.manifest = manifest;
      checkManifest(manifest, expectedName);
      if (checkPackage) checkPackageAgrees(pkg, manifest);
      const { config, problems, sources } = resolveConnectorConfig(configAjv, manifest.name, manifest.configSchema, deps.connectorEnv, deps.runtimeConfig ? (deps.runtimeConfig(manifest.name) ?? { values: {}, sources: {} }) : undefined);
      if (problems.length > 0) throw new StageError('config', problems.join('; '));
      const params = new Map<string, ValidateFunction>();
      for (const capability of manifest.capabilities) {
        try {
          params.set(capability.name, paramsAjv.compile(capability.params));
        } catch (err) {
          throw new StageError('manifest', `capability ${capability.name}: params schema: ${(err as Error).message}`);
        }
      }
      await host.auth(config).catch((err: unknown) => {
        throw new StageError('auth', (err as Error).message, { cause: err });
      });
      version = {
        name: manifest.name,
        version: manifest.version,
        manifest,
        package: pkg,
        host,
        config,
        configSources: sources,
        params,
        capabilities: new Map(manifest.capabilities.map((c) => [c.name, c])),
        loadedAt: now(),
      };
      return version;
    } catch (err) {
      await host.close();
      throw err;
    }
  }

  async function healthOf(version: ConnectorVersion): Promise<Problem | undefined> {
    try {
      const report = await Promise.race([
        version.host.health(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`health check took longer than ${HEALTH_CHECK_TIMEOUT_MS} ms`)), HEALTH_CHECK_TIMEOUT_MS).unref()),
      ]);
      return report.ok ? undefined : { stage: 'health', message: report.detail ?? 'health check failed', at: now() };
    } catch (err) {
      return { stage: 'health', message: (err as Error).message, at: now() };
    }
  }

  return { prepare, healthOf };
}
