import { AppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import { createAjv } from '../../kernel/schemas.ts';
import { REDACTED, type Secrets } from '../../kernel/secrets.ts';
import type { JsonSchema } from '../../sdk/types.ts';
import { resolveConnectorConfig, secretFieldsDeep, type ConfigOverrides } from '../connectors/connector-config.ts';
import type { Lifecycle } from '../connectors/lifecycle.ts';
import type { ConnectorRegistry, LifecycleOutcome } from '../connectors/registry.ts';
import type { RuntimeConfigs, StoredConfig, StoredField } from '../connectors/runtime-config.ts';

/** Who asks for a change, for the audit trail. */
export interface ConfigActor {
  readonly actor: string;
  readonly requestId?: string;
  readonly traceId?: string;
}

/** A connector's effective config as GET /v1/admin/connectors/{name}/config shows it: secrets redacted. */
export interface EffectiveConfig {
  readonly connector: string;
  readonly config: Record<string, unknown>;
  /** Per field: `env`, `runtime`, `fromEnv:<VAR>` or `default`. */
  readonly sources: Record<string, string>;
  /** What keeps it from loading with this config on this node, if anything (names, never values). */
  readonly problems?: readonly string[];
  readonly updatedAt?: string;
  readonly updatedBy?: string;
}

/** Sets, shows and drops connectors' run-time config; each change reloads the connector on every node. */
export interface ConnectorConfigs {
  /** Replaces the run-time config (fields given: a value, or `{ fromEnv: "VAR" }`) and reloads; a refused reload keeps the old config. */
  set(connector: string, fields: Readonly<Record<string, unknown>>, who: ConfigActor): Promise<LifecycleOutcome>;
  /** Drops the run-time config and reloads with the env settings only; a refused reload keeps it. */
  clear(connector: string, who: ConfigActor): Promise<LifecycleOutcome>;
  view(connector: string): EffectiveConfig;
}

export interface ConnectorConfigsDeps {
  readonly registry: Pick<ConnectorRegistry, 'get'>;
  /** The cluster-wide lifecycle: a `configure` that took effect here runs on every node. */
  readonly lifecycle: Lifecycle;
  readonly store: RuntimeConfigs;
  readonly connectorEnv: Readonly<Record<string, string>>;
  readonly secrets: Secrets;
  readonly log: Logger;
}

/** `{ "fromEnv": "CRM_TOKEN" }`: the one shape that references a variable instead of giving a value. */
const referenceOf = (value: unknown): string | undefined => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  const name = (value as { fromEnv?: unknown }).fromEnv;
  return keys.length === 1 && typeof name === 'string' ? name : undefined;
};

export function createConnectorConfigs(deps: ConnectorConfigsDeps): ConnectorConfigs {
  const log = deps.log.child({ module: 'connector-config' });
  // As the loader checks them: values coerced (a variable is a string), defaults filled.
  const ajv = createAjv({ coerceTypes: true, useDefaults: true });

  function schemaOf(connector: string): JsonSchema {
    const entry = deps.registry.get(connector);
    const manifest = entry?.active?.manifest ?? entry?.manifest;
    if (!manifest) throw new AppError('NOT_FOUND', `no connector ${connector}: install it first (PUT /v1/admin/connectors/${connector}); its config is checked against its schema`, { connector });
    return manifest.configSchema;
  }

  const refuse = (connector: string, problems: readonly { field: string; message: string }[]) =>
    new AppError('VALIDATION_FAILED', `config of ${connector} not valid: ${problems.map((p) => p.message).join('; ')}; nothing was changed`, {
      connector,
      errors: problems.map((p) => ({ in: 'body', pointer: `/config${p.field ? `/${p.field}` : ''}`, message: p.message })),
    });

  /** Changes of one connector's config, one at a time: a refused one puts back what was there before it, not after a later one. */
  const queues = new Map<string, Promise<unknown>>();
  function serially<T>(connector: string, work: () => Promise<T>): Promise<T> {
    const next = (queues.get(connector) ?? Promise.resolve()).then(work, work);
    const settled = next.catch(() => undefined);
    queues.set(connector, settled);
    void settled.then(() => queues.get(connector) === settled && queues.delete(connector));
    return next;
  }

  /** Stores `next` (undefined: none), runs the reload everywhere, and puts the old config back if it did not take effect here. */
  function apply(connector: string, next: StoredConfig | undefined, who: ConfigActor): Promise<LifecycleOutcome> {
    return serially(connector, () => applyNow(connector, next, who));
  }

  async function applyNow(connector: string, next: StoredConfig | undefined, who: ConfigActor): Promise<LifecycleOutcome> {
    const previous = deps.store.stored(connector);
    try {
      await deps.store.save(connector, next);
    } catch (err) {
      log.warn({ err, connector }, 'could not store the run-time config');
      throw new AppError('STORE_UNAVAILABLE', 'the run-time config could not be stored (Redis): nothing was changed', { connector });
    }
    const outcome = await deps.lifecycle.execute({ action: 'configure', connector, fields: Object.keys(next?.fields ?? {}), ...who });
    if (outcome.result !== 'ok') {
      await deps.store.save(connector, previous).catch((err: unknown) => log.error({ err, connector }, 'could not put the previous run-time config back after a refused reload'));
    }
    log.info({ connector, fields: Object.keys(next?.fields ?? {}), result: outcome.result, actor: who.actor }, next ? 'run-time config set' : 'run-time config dropped');
    return outcome;
  }

  return {
    async set(connector, fields, who) {
      const schema = schemaOf(connector);
      const known = Object.keys((schema.properties ?? {}) as Record<string, unknown>);
      const unknown = Object.keys(fields).filter((f) => !known.includes(f));
      if (unknown.length > 0) throw refuse(connector, unknown.map((f) => ({ field: f, message: `${f} is not a field of ${connector}'s config (its fields: ${known.join(', ')})` })));
      const secret = new Set(secretFieldsDeep(schema));
      const literalSecrets = Object.keys(fields).filter((f) => secret.has(f) && referenceOf(fields[f]) === undefined);
      if (literalSecrets.length > 0 && !deps.store.canSeal) {
        throw new AppError(
          'SECRET_NEEDS_ENCRYPTION_KEY',
          `${literalSecrets.join(', ')} ${literalSecrets.length > 1 ? 'are secrets' : 'is a secret'} of ${connector}: reference an environment variable ({ "fromEnv": "NAME" }), or set OMNIGATE_CONFIG_ENCRYPTION_KEY (the same on every node) to store it encrypted; nothing was changed`,
          { connector, fields: literalSecrets },
        );
      }
      // Known before anything could write them out.
      deps.secrets.add(...literalSecrets.map((f) => fields[f]));
      const stored: Record<string, StoredField> = {};
      for (const [field, value] of Object.entries(fields)) {
        const name = referenceOf(value);
        stored[field] = name !== undefined ? { fromEnv: name } : secret.has(field) ? deps.store.seal(connector, field, value) : { value };
      }
      const next: StoredConfig = { fields: stored, updatedAt: new Date().toISOString(), updatedBy: who.actor };
      const overrides = deps.store.resolve(connector, next) as ConfigOverrides;
      const checked = resolveConnectorConfig(ajv, connector, schema, deps.connectorEnv, overrides);
      if (checked.problems.length > 0) throw refuse(connector, checked.problems.map((message) => ({ field: message.split(/[ .:]/)[0] ?? '', message })));
      return apply(connector, next, who);
    },

    async clear(connector, who) {
      schemaOf(connector);
      return apply(connector, undefined, who);
    },

    view(connector) {
      const schema = schemaOf(connector);
      const stored = deps.store.stored(connector);
      const { config, sources, problems } = resolveConnectorConfig(ajv, connector, schema, deps.connectorEnv, deps.store.resolve(connector) ?? { values: {}, sources: {} });
      for (const field of secretFieldsDeep(schema)) if (field in config) config[field] = REDACTED;
      // A reference may name any variable: a known secret (a key, say) read into a plain field is not shown either.
      for (const [field, value] of Object.entries(config)) if (typeof value === 'string' && deps.secrets.scrub(value) !== value) config[field] = REDACTED;
      return {
        connector,
        config,
        sources,
        ...(problems.length > 0 ? { problems } : {}),
        ...(stored ? { updatedAt: stored.updatedAt, updatedBy: stored.updatedBy } : {}),
      };
    },
  };
}
