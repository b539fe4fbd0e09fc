import { createRequire } from 'node:module';

/** The package the contract part of the kit needs; the rest of the kit works without it. */
export const PACT_PACKAGE = '@pact-foundation/pact';

type PactModule = typeof import('@pact-foundation/pact');

/** What `verifyContract` uses of Pact's core: its native verifier, the one Pact's `Verifier` runs. */
export interface PactCore {
  verifyPacts(options: {
    readonly provider?: string;
    readonly providerBaseUrl: string;
    readonly pactUrls: string[];
    readonly providerStatesSetupUrl?: string;
    readonly logLevel?: string;
  }): Promise<string>;
}

/** Thrown when Pact is not installed: names the package and the command that installs it. */
export class PactMissingError extends Error {
  constructor(specifier: string, cause: unknown) {
    super(`contract tests need ${specifier}, which is not installed here: run \`npm install -D ${specifier}\` in the connector's folder`, { cause });
    this.name = 'PactMissingError';
  }
}

const isNotFound = (err: unknown): boolean => ['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'].includes(String((err as { code?: unknown }).code));

/**
 * Loads Pact on first use (a dynamic import, resolved from the SDK's own location as any
 * dependency of the integrator's project is). Pact's native core reports usage to an analytics
 * service unless `PACT_DO_NOT_TRACK` is set: the kit sets it unless the caller did.
 */
export async function loadPact(specifier: string = PACT_PACKAGE): Promise<PactModule> {
  process.env.PACT_DO_NOT_TRACK ??= 'true';
  try {
    return (await import(specifier)) as PactModule;
  } catch (err) {
    if (isNotFound(err)) throw new PactMissingError(specifier, err);
    throw err;
  }
}

/**
 * Pact's core (`@pact-foundation/pact-core`), resolved from where Pact itself is installed: it is
 * Pact's dependency, not the integrator's.
 */
export async function loadPactCore(specifier: string = PACT_PACKAGE): Promise<PactCore> {
  await loadPact(specifier);
  const requireFromPact = createRequire(import.meta.resolve(specifier));
  const core = requireFromPact('@pact-foundation/pact-core') as { default?: PactCore } & PactCore;
  return core.default ?? core;
}
