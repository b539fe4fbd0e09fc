import { CONFIG_KEY_BYTES } from '../kernel/config-cipher.ts';

/** How connectors' run-time config (PUT /v1/admin/connectors/{name}/config) is kept and resolved. */
export interface ConnectorSettingsConfig {
  /**
   * `OMNIGATE_CONFIG_ENCRYPTION_KEY`: 32 random bytes, base64 (`openssl rand -base64 32`), the same
   * on every node. Seals the `x-secret` fields given literally at run time (AES-256-GCM) in Redis;
   * without it a literal secret is refused (reference an environment variable instead). Secret.
   */
  readonly encryptionKey?: Buffer;
  /** The variable a run-time `{ "fromEnv": "NAME" }` field names, as this node's environment holds it at start (an empty one counts as unset). */
  readonly readEnv: (name: string) => string | undefined;
}

const KEY_VARIABLE = 'OMNIGATE_CONFIG_ENCRYPTION_KEY';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Parses `OMNIGATE_CONFIG_ENCRYPTION_KEY` and snapshots the environment for `fromEnv` references.
 * The snapshot is behind a function, so that serialising the config never writes it out.
 */
export function parseConnectorSettings(env: NodeJS.ProcessEnv): { config: ConnectorSettingsConfig; problems?: never } | { config?: never; problems: string[] } {
  const snapshot = new Map(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
  const readEnv = (name: string): string | undefined => snapshot.get(name);
  const text = env[KEY_VARIABLE]?.trim();
  if (text === undefined || text === '') return { config: Object.freeze({ readEnv }) };
  const key = BASE64.test(text) ? Buffer.from(text, 'base64') : undefined;
  if (key?.length !== CONFIG_KEY_BYTES) return { problems: [`${KEY_VARIABLE} must be ${CONFIG_KEY_BYTES} random bytes in base64 (openssl rand -base64 32)`] };
  return { config: Object.freeze({ encryptionKey: key, readEnv }) };
}
