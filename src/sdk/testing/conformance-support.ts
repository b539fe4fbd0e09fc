import { createAjv, toIssues } from '../../kernel/schemas.ts';
import { CONNECTOR_ENV_PREFIX, envPrefixFor, secretFields } from '../../modules/connectors/connector-config.ts';
import { parseBusinessKeyPath, type BusinessKeyStep } from '../business-key-path.ts';
import type { BusinessKeyDeclaration, Connector, ConnectorManifest } from '../types.ts';

/** Anything with a manifest: a connector of any config type. */
type Manifested = { readonly manifest: ConnectorManifest };

/** A business key id longer than this is not an id (as the gateway's lineage skips it). */
const MAX_KEY_LENGTH = 256;
/** Field names that hold credentials; each must be marked "x-secret". */
export const CREDENTIAL_FIELD = /secret|token|passw|passphrase|hmac|credential|key$/i;

const configAjv = createAjv({ coerceTypes: true, useDefaults: true });

/** `clientSecret` → `OMNIGATE_CONNECTOR_ORDERS_JAVA_CLIENT_SECRET`: where the gateway reads a config field. */
export const envNameOf = (connector: string, field: string): string => `${CONNECTOR_ENV_PREFIX}${envPrefixFor(connector)}${field.replace(/([A-Z])/g, '_$1').toUpperCase()}`;

/**
 * What is wrong with `config` by the connector's own config schema, one message per problem,
 * naming the environment variable that sets the field (never a value: some are secrets).
 */
export function configProblems(connector: Manifested, config: unknown): string[] {
  const validate = configAjv.compile(connector.manifest.configSchema);
  if (validate(structuredClone(config))) return [];
  const field = (name: string): string => name.split(/[.[]/)[0] ?? name;
  return toIssues(validate.errors).map((issue) => (issue.field ? `${issue.message} (set ${envNameOf(connector.manifest.name, field(issue.field))})` : issue.message));
}

/** Whether an empty config passes the schema (it must not: a required field without default). */
export const acceptsEmptyConfig = (connector: Manifested): boolean => configAjv.validate(connector.manifest.configSchema, {}) === true;

/** Config fields whose name says credential but whose schema lacks `"x-secret": true`. */
export function unmarkedSecrets(connector: Manifested): string[] {
  const properties = Object.keys((connector.manifest.configSchema.properties ?? {}) as Record<string, unknown>);
  const secrets = new Set(secretFields(connector.manifest.configSchema));
  return properties.filter((p) => CREDENTIAL_FIELD.test(p) && !secrets.has(p));
}

/** A copy of the config whose every `x-secret` field is wrong. */
export function withWrongSecrets<Config>(connector: Connector<Config>, config: Config): Config {
  const wrong: Record<string, unknown> = { ...(config as Record<string, unknown>) };
  for (const name of secretFields(connector.manifest.configSchema)) wrong[name] = `wrong-${String(wrong[name] ?? 'secret')}`;
  return wrong as Config;
}

/**
 * What is wrong with package.json against the manifest, as an install checks it: the same
 * version, and the connector's name as package name, optionally `connector-`-prefixed and scoped.
 */
export function packageProblems(pkg: { readonly name?: unknown; readonly version?: unknown }, manifest: { readonly name: string; readonly version: string }): string[] {
  const problems: string[] = [];
  if (pkg.version !== manifest.version) problems.push(`package.json version ${String(pkg.version)} and manifest.version ${manifest.version} must be the same`);
  const bare = typeof pkg.name === 'string' ? pkg.name.replace(/^@[^/]+\//, '') : undefined;
  if (bare !== manifest.name && bare !== `connector-${manifest.name}`) {
    problems.push(`package.json name ${String(pkg.name)} must be ${manifest.name} or connector-${manifest.name} (a scope is allowed), like manifest.name`);
  }
  return problems;
}

/**
 * Whether an answer holds a string id where a business key declaration points: in any item of a
 * `Page<…>` answer, else in the answer itself (as the gateway's lineage reads it).
 */
export function hasBusinessKey(result: unknown, resultSchema: string, key: BusinessKeyDeclaration): boolean {
  const steps = parseBusinessKeyPath(key.path);
  if (!steps) return false;
  const items = resultSchema.startsWith('Page<') ? (isRecord(result) && Array.isArray(result.items) ? result.items : []) : [result];
  return items.some((item) => valuesAt(item, steps).some((v) => typeof v === 'string' && v.length > 0 && v.length <= MAX_KEY_LENGTH));
}

function valuesAt(value: unknown, steps: readonly BusinessKeyStep[]): unknown[] {
  const [step, ...rest] = steps;
  if (!step) return [value];
  const next = isRecord(value) && Object.hasOwn(value, step.field) ? value[step.field] : undefined;
  if (!step.each) return valuesAt(next, rest);
  return Array.isArray(next) ? next.flatMap((element) => valuesAt(element, rest)) : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
