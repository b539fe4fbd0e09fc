import type { ConfigCipher, SealedValue } from '../../kernel/config-cipher.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { Secrets } from '../../kernel/secrets.ts';
import type { RecordStore } from '../../ports/record-store.ts';
import type { ConfigOverrides } from './connector-config.ts';

/** How often a node tries to read the run-time config at start before it loads connectors without it. */
export const DEFAULT_RUNTIME_CONFIG_READ_ATTEMPTS = 5;
/** The wait before the next try grows by this much each time. */
export const DEFAULT_RUNTIME_CONFIG_RETRY_MS = 200;
const COLLECTION = 'omnigate:connector-config';
const INDEX = 'omnigate:connector-config:connectors';

/** One run-time field as stored: a plain value, a sealed secret, or the name of a variable each node reads. */
export type StoredField = { readonly value: unknown } | { readonly sealed: SealedValue } | { readonly fromEnv: string };

/** A connector's run-time config as the durable Redis keeps it: never a secret in plaintext. */
export interface StoredConfig {
  readonly fields: Readonly<Record<string, StoredField>>;
  readonly updatedAt: string;
  /** The admin key's name that set it. */
  readonly updatedBy: string;
}

/**
 * Connectors' run-time config (PUT /v1/admin/connectors/{name}/config), shared by every node in
 * the durable Redis and held in memory on each, so that loading a connector reads no store. Read
 * once before the connectors load, and again for one connector when another node changed it.
 */
export interface RuntimeConfigs {
  /** Reads every connector's run-time config; with Redis away, none (logged): connectors load with their env settings. */
  load(): Promise<void>;
  /** Reads one connector's again (another node changed it). */
  refresh(connector: string): Promise<void>;
  stored(connector: string): StoredConfig | undefined;
  /** Writes (or, with undefined, drops) one connector's run-time config, in Redis first: throws when Redis cannot take it. */
  save(connector: string, config: StoredConfig | undefined): Promise<void>;
  /**
   * The run-time fields of a connector, resolved on this node: secrets opened, variables read.
   * A field that cannot be resolved is left out and named in `problems` (with its variable), never with a value.
   */
  resolve(connector: string, stored?: StoredConfig): ConfigOverrides | undefined;
  /** Whether literal secrets can be sealed (OMNIGATE_CONFIG_ENCRYPTION_KEY is set). */
  readonly canSeal: boolean;
  /** Seals one field's literal value, bound to the connector and field. */
  seal(connector: string, field: string, value: unknown): StoredField;
}

export interface RuntimeConfigsDeps {
  readonly records: RecordStore;
  /** None: literal secrets are refused, and sealed ones cannot be opened. */
  readonly cipher?: ConfigCipher;
  readonly readEnv: (name: string) => string | undefined;
  readonly log: Logger;
  /** Learns every secret it opens, before anything could write it out. */
  readonly secrets?: Secrets;
  readonly readAttempts?: number;
  readonly retryMs?: number;
}

const contextOf = (connector: string, field: string) => `${connector}/${field}`;

export function createRuntimeConfigs(deps: RuntimeConfigsDeps): RuntimeConfigs {
  const log = deps.log.child({ module: 'runtime-config' });
  const byConnector = new Map<string, StoredConfig>();

  function open(connector: string, field: string, stored: StoredField): { value: unknown; source: string } | { problem: string } {
    if ('value' in stored) return { value: stored.value, source: 'runtime' };
    if ('fromEnv' in stored) {
      const value = deps.readEnv(stored.fromEnv);
      return value === undefined ? { problem: `${field}: environment variable ${stored.fromEnv} is not set on this node` } : { value, source: `fromEnv:${stored.fromEnv}` };
    }
    if (!deps.cipher) return { problem: `${field} is stored encrypted and this node has no OMNIGATE_CONFIG_ENCRYPTION_KEY to open it (set the same key on every node)` };
    try {
      const value = JSON.parse(deps.cipher.open(stored.sealed, contextOf(connector, field))) as unknown;
      deps.secrets?.add(value);
      return { value, source: 'runtime' };
    } catch {
      return { problem: `${field} is stored encrypted and cannot be opened: it was changed, or OMNIGATE_CONFIG_ENCRYPTION_KEY differs from the node that stored it` };
    }
  }

  return {
    async load() {
      const attempts = deps.readAttempts ?? DEFAULT_RUNTIME_CONFIG_READ_ATTEMPTS;
      // A busy Redis at start (short command timeouts) must not make a node serve without the cluster's config.
      for (let attempt = 1; ; attempt++) {
        try {
          const ids = await deps.records.listed([INDEX]);
          const raws = await deps.records.getMany(COLLECTION, ids);
          byConnector.clear();
          for (const raw of raws) {
            const { connector, ...config } = JSON.parse(raw) as StoredConfig & { connector: string };
            byConnector.set(connector, config);
          }
          if (byConnector.size > 0) log.info({ connectors: [...byConnector.keys()] }, 'read the run-time config of connectors');
          return;
        } catch (err) {
          if (attempt >= attempts) {
            log.error({ err, attempts }, 'could not read the run-time config of connectors: they load with their env settings only');
            return;
          }
          await new Promise((r) => setTimeout(r, (deps.retryMs ?? DEFAULT_RUNTIME_CONFIG_RETRY_MS) * attempt).unref());
        }
      }
    },
    async refresh(connector) {
      const raw = await deps.records.get(COLLECTION, connector);
      if (raw === undefined) byConnector.delete(connector);
      else {
        const { connector: _, ...config } = JSON.parse(raw) as StoredConfig & { connector: string };
        byConnector.set(connector, config);
      }
    },
    stored: (connector) => byConnector.get(connector),
    async save(connector, config) {
      if (config) await deps.records.insert(COLLECTION, connector, JSON.stringify({ connector, ...config }), [INDEX]);
      else await deps.records.delete(COLLECTION, connector, [INDEX]);
      if (config) byConnector.set(connector, config);
      else byConnector.delete(connector);
    },
    resolve(connector, stored = byConnector.get(connector)) {
      if (!stored) return undefined;
      const values: Record<string, unknown> = {};
      const sources: Record<string, string> = {};
      const problems: string[] = [];
      for (const [field, given] of Object.entries(stored.fields)) {
        const opened = open(connector, field, given);
        if ('problem' in opened) problems.push(opened.problem);
        else {
          values[field] = opened.value;
          sources[field] = opened.source;
        }
      }
      return { values, sources, problems };
    },
    canSeal: deps.cipher !== undefined,
    seal(connector, field, value) {
      if (!deps.cipher) throw new Error('no OMNIGATE_CONFIG_ENCRYPTION_KEY: literal secrets cannot be stored');
      return { sealed: deps.cipher.seal(JSON.stringify(value), contextOf(connector, field)) };
    },
  };
}
