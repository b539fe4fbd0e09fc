import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { CapabilityOwners, CapabilityRouting } from '../../config/capability-owners-config.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { SchemaRegistry } from '../../kernel/schemas.ts';
import type { Secrets } from '../../kernel/secrets.ts';
import type { CapabilityDeclaration, ConnectorManifest } from '../../sdk/types.ts';
import type { ConfigOverrides, ConfigSources } from './connector-config.ts';
import type { WorkerHost, WorkerTelemetry, WorkerVitals } from './host/worker-host.ts';
import type { PackageStore, StoredPackage } from './package-store.ts';

// The registry's vocabulary: what it keeps per connector and version, and what it tells.

/** Where loading a connector stopped; `runtime` is a worker that died after it served. */
export type LoadStage = 'load' | 'manifest' | 'config' | 'auth' | 'health' | 'runtime';

/** `ready`: serving. `unhealthy`: serving, but its health check fails or it is restarting. `failed`: not serving. */
export type ConnectorState = 'ready' | 'unhealthy' | 'failed';

export interface Problem {
  readonly stage: LoadStage;
  readonly message: string;
  readonly at: string;
}

/** One loaded version of a connector: its worker, checked manifest and config. */
export interface ConnectorVersion {
  readonly name: string;
  readonly version: string;
  readonly manifest: ConnectorManifest;
  readonly package: StoredPackage;
  readonly host: WorkerHost;
  readonly config: Record<string, unknown>;
  /** Where each field of `config` came from: `env`, `runtime`, `fromEnv:<VAR>` or `default`. */
  readonly configSources: Readonly<ConfigSources>;
  readonly params: ReadonlyMap<string, ValidateFunction>;
  readonly capabilities: ReadonlyMap<string, CapabilityDeclaration>;
  readonly loadedAt: string;
}

/** A connector as the registry keeps it, across its versions. */
export interface ConnectorEntry {
  readonly name: string;
  readonly state: ConnectorState;
  /** The version serving now, if any. */
  readonly active?: ConnectorVersion;
  /** The manifest last seen, even of a version that failed to load. */
  readonly manifest?: ConnectorManifest;
  /** The version a rollback would return to. */
  readonly rollbackTo?: StoredPackage;
  /** What went wrong last (kept after recovery as history: see `problem` for the current one). */
  readonly lastError?: Problem;
  /** What is wrong now, if anything. */
  readonly problem?: Problem;
  readonly restarts: number;
}

/**
 * A capability that several loaded connectors declare, or that a routing covers. `ambiguous`: no
 * owner among them is configured (`OMNIGATE_CAPABILITY_OWNERS`), so the connector the gateway knew
 * first serves it. A routed capability is never ambiguous; a route to a connector that is not
 * loaded, or does not declare it, is listed under `routeProblems`.
 */
export interface SharedCapability {
  readonly capability: string;
  /** The connectors declaring it, by name. */
  readonly connectors: readonly string[];
  /** The one its calls go to; with a routing, the default (else the first routed connector declaring it). */
  readonly servedBy: string;
  /** The configured owner, when it is one of them. */
  readonly owner?: string;
  /** The configured routing by a param, when there is one. */
  readonly routing?: CapabilityRouting;
  /** The routes whose connector cannot serve it; absent when there is none. */
  readonly routeProblems?: readonly RouteProblem[];
  readonly ambiguous: boolean;
}

/** A route (or the default: no `route`) naming a connector that is not loaded, or that does not declare the capability. */
export interface RouteProblem {
  readonly route?: string;
  readonly connector: string;
  readonly reason: 'not_loaded' | 'not_declared';
}

/**
 * A change that succeeded but left something to look at: a capability it now shares without an
 * owner (`CAPABILITY_AMBIGUOUS`), or a route of a capability it declares or is named in whose
 * connector cannot serve it (`CAPABILITY_ROUTE_BROKEN`).
 */
export type LifecycleWarning =
  | {
      readonly code: 'CAPABILITY_AMBIGUOUS';
      readonly capability: string;
      readonly connectors: readonly string[];
      readonly servedBy: string;
      readonly message: string;
    }
  | ({
      readonly code: 'CAPABILITY_ROUTE_BROKEN';
      readonly capability: string;
      readonly connectors: readonly string[];
      readonly servedBy: string;
      readonly message: string;
    } & RouteProblem);

/** The connector a call goes to, and the param that routed it (kept from the connector unless its params declare it). */
export interface RoutedEntry {
  readonly entry: ConnectorEntry;
  readonly by?: string;
}

/** A hold on one version for one call; a swap waits for holds on the old version to end. */
export interface Lease {
  readonly version: ConnectorVersion;
  release(): void;
}

/** `configure`: the version serving (or waiting for its config) loaded again with the connector's run-time config. */
export type LifecycleAction = 'start' | 'reload' | 'install' | 'rollback' | 'remove' | 'restart' | 'configure';

export interface LifecycleOutcome {
  readonly connector: string;
  readonly action: LifecycleAction;
  readonly from?: string;
  readonly to?: string;
  readonly result: 'ok' | 'failed';
  readonly problem?: Problem;
  /** Set by the lifecycle on a change that succeeded (never in the `connector.changed` event). */
  readonly warnings?: readonly LifecycleWarning[];
}

export interface ConnectorRegistry {
  /** Loads every connector folder; a broken one is recorded, never thrown. */
  start(): Promise<void>;
  list(): readonly ConnectorEntry[];
  get(name: string): ConnectorEntry | undefined;
  /**
   * The connector declaring a capability (serving ones first); undefined if none does. With params,
   * a routed capability goes where its routing sends them (undefined if nowhere); without, to the
   * routing's default (else its first routed connector declaring it), for questions about the
   * capability as a whole (its kind, its params).
   */
  route(capability: string, params?: Readonly<Record<string, unknown>>): ConnectorEntry | undefined;
  /**
   * The connector a call goes to, or why none does: UNKNOWN_CAPABILITY (none declares it), NO_ROUTE
   * (its routing picks none for these params), CONNECTOR_UNAVAILABLE (the route's connector is not
   * loaded or does not declare it).
   */
  resolve(capability: string, params: Readonly<Record<string, unknown>>): RoutedEntry;
  /** The capabilities several loaded connectors declare, by name, with who serves each. */
  sharedCapabilities(): readonly SharedCapability[];
  /** The connector reaching a system (for the proxy): its owner in `OMNIGATE_CAPABILITY_OWNERS` (`system:<system>`, or that routing's default), else the first serving. */
  bySystem(system: string): ConnectorEntry | undefined;
  /** Holds the active version of a connector for one call; throws CONNECTOR_UNAVAILABLE if none serves. */
  lease(name: string): Lease;
  /** load → validate → auth → health → atomic swap → drain the old → close it. Any failure keeps the old. */
  reload(name: string): Promise<LifecycleOutcome>;
  install(name: string, tarball: Buffer): Promise<LifecycleOutcome>;
  rollback(name: string): Promise<LifecycleOutcome>;
  /**
   * Loads the connector's package again (the version serving, or one installed that waits for its
   * config) with its config as it is now, by the same swap; any failure keeps the old version.
   */
  reconfigure(name: string): Promise<LifecycleOutcome>;
  remove(name: string): Promise<LifecycleOutcome>;
  close(): Promise<void>;
}

export interface ConnectorRegistryDeps {
  readonly log: Logger;
  readonly connectorsDir: string;
  readonly connectorEnv: Readonly<Record<string, string>>;
  /** A connector's run-time config, resolved on this node; its fields win over the env's, one by one. */
  readonly runtimeConfig?: (connector: string) => ConfigOverrides | undefined;
  /** `OMNIGATE_CAPABILITY_OWNERS`: the connector serving a capability that several declare, or its routing by a param. */
  readonly capabilityOwners?: CapabilityOwners;
  readonly schemas: SchemaRegistry;
  readonly store: PackageStore;
  readonly drainTimeoutMs?: number;
  /** First recheck delay of a connector that failed at start; a crashed worker's first restart waits a quarter of it. */
  readonly retryMinMs: number;
  /** The longest recheck or restart delay. */
  readonly retryMaxMs: number;
  /** A restarted worker that stays healthy this long resets the restart backoff. */
  readonly restartResetMs: number;
  /** How often each ready connector's health() runs while it serves; 0 or none: only at load. */
  readonly healthCheckIntervalMs?: number;
  readonly workerHeapMb?: number;
  /** Where the workers send their spans (each as `omnigate-connector-<name>`); none: their spans stay in the worker. */
  readonly telemetry?: WorkerTelemetry;
  /** The secret values scrubbed from logs and connector-written text; each worker adds its connector's. */
  readonly secrets?: Secrets;
  /** Told of every lifecycle change, for audit and events. */
  readonly onChange?: (outcome: LifecycleOutcome) => void;
  /** Told, at each heartbeat, how a connector's worker loop fared (for its metrics). */
  readonly onWorkerVitals?: (connector: string, vitals: WorkerVitals) => void;
}
