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
 * Picks a connector's settings out of the raw connector env, types them by its schema (defaults
 * filled, strings coerced) and checks them. Problems name fields, never values: some are secrets.
 */
export function resolveConnectorConfig(
  ajv: Ajv2020,
  connector: string,
  schema: JsonSchema,
  connectorEnv: Readonly<Record<string, string>>,
): { config: Record<string, unknown>; problems: string[] } {
  const prefix = envPrefixFor(connector);
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(connectorEnv)) {
    if (key.startsWith(prefix)) config[camel(key.slice(prefix.length))] = value;
  }
  const validate = ajv.compile(schema);
  if (validate(config)) return { config, problems: [] };
  const problems = toIssues(validate.errors).map((issue) => {
    const envName = issue.field ? `OMNIGATE_CONNECTOR_${prefix}${issue.field.replace(/([A-Z])/g, '_$1').toUpperCase()}` : '';
    return envName ? `${issue.message} (set ${envName})` : issue.message;
  });
  return { config, problems };
}

/** The names of the fields a config schema marks `"x-secret": true`. */
export function secretFields(schema: JsonSchema): string[] {
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(properties).filter(([, p]) => p['x-secret'] === true).map(([name]) => name);
}
