import type { Ajv2020 } from 'ajv/dist/2020.js';
import type { JsonSchema } from '../../sdk/types.ts';
import { toIssues } from '../../kernel/schemas.ts';

/** Every connector setting in the environment starts so: `OMNIGATE_CONNECTOR_<NAME>_<FIELD>`. */
export const CONNECTOR_ENV_PREFIX = 'OMNIGATE_CONNECTOR_';

/** `orders-java` → `ORDERS_JAVA_`: the env prefix (after OMNIGATE_CONNECTOR_) of its settings. */
export const envPrefixFor = (connector: string): string => `${connector.toUpperCase().replace(/-/g, '_')}_`;

/** `CLIENT_SECRET` → `clientSecret` */
const camel = (snake: string): string => snake.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Fields given at run time (PUT /v1/admin/connectors/{name}/config), already resolved: each wins
 * over the same field in the environment. `sources` says where each came from (`runtime`,
 * `fromEnv:VAR`); `problems` are those found resolving them (a variable not set), by field name.
 */
export interface ConfigOverrides {
  readonly values: Readonly<Record<string, unknown>>;
  readonly sources: Readonly<Record<string, string>>;
  readonly problems?: readonly string[];
}

/** Where a field of a resolved config came from: `env`, `runtime`, `fromEnv:<VAR>` or `default` (the schema's). */
export type ConfigSources = Record<string, string>;

/**
 * Picks a connector's settings out of the raw connector env, lays the run-time `overrides` over
 * them field by field, types them by its schema (defaults filled, strings coerced) and checks
 * them. Problems name fields and variables, never values: some are secrets. With `overrides`
 * (in the gateway), each problem also says how to set the field at run time.
 */
export function resolveConnectorConfig(
  ajv: Ajv2020,
  connector: string,
  schema: JsonSchema,
  connectorEnv: Readonly<Record<string, string>>,
  overrides?: ConfigOverrides,
): { config: Record<string, unknown>; problems: string[]; sources: ConfigSources } {
  const prefix = envPrefixFor(connector);
  const config: Record<string, unknown> = {};
  const sources: ConfigSources = {};
  for (const [key, value] of Object.entries(connectorEnv)) {
    if (!key.startsWith(prefix)) continue;
    const field = camel(key.slice(prefix.length));
    config[field] = value;
    sources[field] = 'env';
  }
  for (const [field, value] of Object.entries(overrides?.values ?? {})) {
    config[field] = value;
    sources[field] = overrides?.sources[field] ?? 'runtime';
  }
  const validate = ajv.compile(schema);
  const valid = validate(config);
  for (const field of Object.keys(config)) sources[field] ??= 'default';
  const earlier = [...(overrides?.problems ?? [])];
  if (valid) return { config, problems: earlier, sources };
  const atRunTime = `PUT /v1/admin/connectors/${connector}/config`;
  const problems = toIssues(validate.errors).map((issue) => {
    if (!issue.field) return issue.message;
    const top = issue.field.split('.')[0] ?? issue.field;
    const given = sources[top];
    if (overrides && given !== undefined && given !== 'env' && given !== 'default') return `${issue.message} (given at run time as ${given}: change it with ${atRunTime})`;
    const envName = `OMNIGATE_CONNECTOR_${prefix}${issue.field.replace(/([A-Z])/g, '_$1').toUpperCase()}`;
    return overrides ? `${issue.message} (set ${envName}, or ${atRunTime})` : `${issue.message} (set ${envName})`;
  });
  return { config, problems: [...earlier, ...problems], sources };
}

/** The top-level fields of a config schema holding a secret: marked `"x-secret": true`, or with such a field inside. */
export function secretFieldsDeep(schema: JsonSchema): string[] {
  const holds = (sub: unknown): boolean =>
    typeof sub === 'object' && sub !== null && ((sub as Record<string, unknown>)['x-secret'] === true || Object.values((sub as { properties?: Record<string, unknown> }).properties ?? {}).some(holds));
  return Object.entries((schema.properties ?? {}) as Record<string, unknown>).filter(([, p]) => holds(p)).map(([name]) => name);
}

/** The names of the fields a config schema marks `"x-secret": true`. */
export function secretFields(schema: JsonSchema): string[] {
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(properties).filter(([, p]) => p['x-secret'] === true).map(([name]) => name);
}
