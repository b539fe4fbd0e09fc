import type { Logger } from '../../../kernel/logger.ts';
import { UpstreamTimeoutError } from '../../../sdk/errors.ts';
import { createHttpClient } from '../../../sdk/http-client.ts';
import type { Pools } from '../../../sdk/transport.ts';
import type { Authenticator, Connector } from '../../../sdk/types.ts';

/** How long a connector's auth() may take when the gateway loads it. */
export const DEFAULT_AUTH_TIMEOUT_MS = 10_000;

export interface AuthStageOptions {
  readonly config: Record<string, unknown>;
  readonly log: Logger;
  readonly baseUrl: string;
  readonly pools: Pools;
  readonly timeoutMs?: number;
}

/**
 * Runs a connector's auth() within the stage's deadline. The deadline bounds this call only: the
 * HTTP client auth() gets is kept by the authenticator for every later token fetch (each bounded
 * by its own timeout), so it must not carry a signal that fires once the stage is over.
 */
export async function runAuthStage(connector: Pick<Connector, 'auth'>, options: AuthStageOptions): Promise<Authenticator> {
  const { config, log, baseUrl, pools } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UpstreamTimeoutError(`auth() did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([connector.auth({ config, log, http: createHttpClient({ baseUrl, pools, log }) }), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
