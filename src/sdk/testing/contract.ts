import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { MatchersV3, PactV3 } from '@pact-foundation/pact';
import type { Connector, ConnectorContext } from '../types.ts';
import { createTestContexts } from './context.ts';
import { loadPact, loadPactCore } from './pact-loader.ts';
import { startVerificationProxy, STATE_SETUP_PATH, type ProviderStateHandler, type RequestFilter } from './verification-proxy.ts';

/** `OMNIGATE_CONTRACTS_UPDATE=1`: consumer contracts rewrite their committed file instead of checking it. */
export const CONTRACTS_UPDATE_ENV = 'OMNIGATE_CONTRACTS_UPDATE';
/** The port of the verifier's local server, when neither the `port` option nor the variable says. */
export const DEFAULT_PACT_VERIFIER_PORT = 29_300;
/** `OMNIGATE_PACT_VERIFIER_PORT`: the port `verifyContract` listens on (default {@link DEFAULT_PACT_VERIFIER_PORT}). */
export const PACT_VERIFIER_PORT_ENV = 'OMNIGATE_PACT_VERIFIER_PORT';

export interface ConsumerContractOptions {
  /** The connector's name (`billing-sap`). */
  readonly consumer: string;
  /** The backend's name (`sap`). */
  readonly provider: string;
  /** Where the committed contract `<consumer>-<provider>.json` lives (e.g. `contracts`, from the current folder). */
  readonly dir: string;
  /** Write what the tests record into `dir` instead of comparing. Default: `OMNIGATE_CONTRACTS_UPDATE=1`. */
  readonly update?: boolean;
  /** The command that records the contract, named in the drift message. Default `npm run contract`. */
  readonly updateCommand?: string;
}

/** The config `execute` runs the connector with: its real one, or one built around the mock server's URL. */
export type ContractConfig<Config> = Config | ((mockServerUrl: string) => Config);

export interface ConsumerContract {
  /** Add the interactions of the next `execute` here (`given`, `uponReceiving`, `withRequest`, `willRespondWith`). */
  readonly pact: PactV3;
  /** Pact's matchers (`MatchersV3`: `string`, `integer`, `regex`, `eachLike` …), so a test needs no import of Pact itself. */
  readonly matchers: typeof MatchersV3;
  /** The committed contract: `<dir>/<consumer>-<provider>.json`. */
  readonly file: string;
  /**
   * Runs `work` while the interactions added to `pact` are served by Pact's mock server, with the
   * connector called as the gateway calls it: its own `auth()`, then the SDK's HTTP client with
   * that authenticator. Give `config` as the connector's real config: its `baseUrl` then points at
   * the mock server KEEPING its path, so `http://host/petclinic/api` records
   * `/petclinic/api/owners/6`, the path the real backend sees. A function gets the mock server's
   * bare URL instead and returns the config.
   */
  execute<Config>(connector: Connector<Config>, config: ContractConfig<Config>, work: (ctx: ConnectorContext<Config>) => Promise<void>): Promise<void>;
  /**
   * Run last: the contract the tests recorded must equal the committed one (when updating, it
   * replaces it). A connector change that alters its contract thus fails until it is recorded.
   */
  settle(): void;
}

/**
 * The Pact consumer side for one connector and its backend, recording into a fresh temporary
 * folder. Loads `@pact-foundation/pact` (install it as a dev dependency).
 */
export async function createConsumerContract(options: ConsumerContractOptions): Promise<ConsumerContract> {
  const { PactV3, MatchersV3: matchers } = await loadPact();
  const { consumer, provider } = options;
  const update = options.update ?? process.env[CONTRACTS_UPDATE_ENV] === '1';
  const updateCommand = options.updateCommand ?? 'npm run contract';
  const name = `${consumer}-${provider}.json`;
  const committedDir = resolve(options.dir);
  const committedFile = join(committedDir, name);
  const recordDir = mkdtempSync(join(tmpdir(), 'omnigate-pact-'));
  const pact = new PactV3({ consumer, provider, dir: recordDir, logLevel: 'error' });
  let failures = 0;
  return {
    pact,
    matchers,
    file: committedFile,
    async execute(connector, config, work) {
      try {
        await pact.executeTest(async ({ url }) => {
          const contexts = createTestContexts({ config: pointedAt(url, config) });
          try {
            const authenticator = await connector.auth(contexts.authContext());
            await work(contexts.callContext({ authenticator }));
          } finally {
            contexts.close();
          }
        });
      } catch (err) {
        failures += 1;
        throw err;
      }
    },
    settle() {
      const recordedFile = join(recordDir, name);
      try {
        if (!existsSync(recordedFile)) throw new Error(`no interaction of ${consumer} with ${provider} was recorded`);
        if (update) {
          // A failed test recorded nothing: writing the rest would silently drop its interaction.
          if (failures > 0) throw new Error(`${consumer}: ${failures} consumer test(s) failed; fix them before recording ${committedFile}`);
          mkdirSync(committedDir, { recursive: true });
          copyFileSync(recordedFile, committedFile);
          return;
        }
        if (!existsSync(committedFile)) throw new Error(`${committedFile} is not recorded yet: run \`${updateCommand}\` and commit it`);
        const recorded = comparable(recordedFile);
        const committed = comparable(committedFile);
        if (!isDeepStrictEqual(recorded, committed)) {
          throw new Error(`${committedFile} differs from what ${consumer}'s consumer tests record (${describeDrift(recorded, committed)}): run \`${updateCommand}\` and commit the change`);
        }
      } finally {
        rmSync(recordDir, { recursive: true, force: true });
      }
    },
  };
}

/** The connector's config with `baseUrl` on the mock server: its origin replaced, its path kept. */
function pointedAt<Config>(mockServerUrl: string, config: ContractConfig<Config>): Config {
  if (typeof config === 'function') return (config as (url: string) => Config)(mockServerUrl);
  const baseUrl = (config as { baseUrl?: unknown }).baseUrl;
  if (typeof baseUrl !== 'string' || !URL.canParse(baseUrl)) {
    throw new Error('execute(connector, config, work): config.baseUrl must be the backend\'s URL (its path is kept on the mock server); or pass a function of the mock server\'s URL');
  }
  const path = new URL(baseUrl).pathname.replace(/\/$/, '');
  return { ...config, baseUrl: `${mockServerUrl.replace(/\/$/, '')}${path}` };
}

interface PactFile {
  readonly consumer: unknown;
  readonly provider: unknown;
  readonly interactions: readonly { readonly description: string; readonly providerStates?: readonly { readonly name: string }[] }[];
}

const readPact = (file: string): PactFile => JSON.parse(readFileSync(file, 'utf8')) as PactFile;

/** The part of a pact file that is the contract: without the Pact versions that wrote it. */
function comparable(file: string): PactFile {
  const { consumer, provider, interactions } = readPact(file);
  return { consumer, provider, interactions };
}

function describeDrift(recorded: PactFile, committed: PactFile): string {
  const byDescription = (pact: PactFile) => new Map(pact.interactions.map((i) => [i.description, JSON.stringify(i)]));
  const now = byDescription(recorded);
  const before = byDescription(committed);
  const kinds = {
    new: [...now.keys()].filter((d) => !before.has(d)),
    gone: [...before.keys()].filter((d) => !now.has(d)),
    changed: [...now.keys()].filter((d) => before.has(d) && before.get(d) !== now.get(d)),
  };
  const parts = Object.entries(kinds).filter(([, list]) => list.length > 0).map(([kind, list]) => `${kind}: ${list.map((d) => `"${d}"`).join(', ')}`);
  return parts.length > 0 ? parts.join('; ') : 'same interactions, other content';
}

export interface VerifyContractOptions {
  /** The contract (a Pact file), e.g. `contracts/billing-sap-sap.json`. */
  readonly pactFile: string;
  /** The real backend: its origin (a path here is prefixed to every recorded path). */
  readonly providerBaseUrl: string;
  /** Where the verifier's local server listens. Default `OMNIGATE_PACT_VERIFIER_PORT`, else {@link DEFAULT_PACT_VERIFIER_PORT}. */
  readonly port?: number;
  /** One handler per provider state the contract names; every state must have one. */
  readonly stateHandlers?: Readonly<Record<string, ProviderStateHandler>>;
  /** Runs on each replayed request before it reaches the backend (real credentials, say). */
  readonly requestFilter?: RequestFilter;
  /** Pact's log level. Default `error`. */
  readonly logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
}

export interface ContractVerification {
  readonly consumer: string;
  readonly provider: string;
  readonly interactions: number;
  /** The provider states set up, sorted. */
  readonly states: readonly string[];
}

/**
 * Replays a contract against the real backend with Pact's native verifier (the one Pact's
 * `Verifier` runs) through a local server on a fixed port, which sets provider states up and
 * runs `requestFilter`. Rejects when an interaction fails, when a state has no handler or did not
 * hold, or when a state of the contract was never set up.
 */
export async function verifyContract(options: VerifyContractOptions): Promise<ContractVerification> {
  const pactFile = resolve(options.pactFile);
  if (!existsSync(pactFile)) throw new Error(`no contract at ${pactFile}: record it first`);
  const pact = readPact(pactFile);
  const consumer = nameOf(pact.consumer);
  const provider = nameOf(pact.provider);
  const stateHandlers = options.stateHandlers ?? {};
  const states = [...new Set(pact.interactions.flatMap((i) => (i.providerStates ?? []).map((s) => s.name)))].sort();
  const unhandled = states.filter((state) => !Object.hasOwn(stateHandlers, state));
  if (unhandled.length > 0) {
    throw new Error(`${pactFile} needs provider state(s) with no handler: ${unhandled.map((s) => `"${s}"`).join(', ')}. Add a handler for each (in a connector folder: the default export of test/provider-states.ts)`);
  }
  const port = verifierPort(options.port);
  const core = await loadPactCore();
  const proxy = await startVerificationProxy({ target: new URL(options.providerBaseUrl), host: '127.0.0.1', port, stateHandlers, ...(options.requestFilter ? { requestFilter: options.requestFilter } : {}) });
  try {
    try {
      await core.verifyPacts({ provider, providerBaseUrl: proxy.origin, pactUrls: [pactFile], providerStatesSetupUrl: `${proxy.origin}${STATE_SETUP_PATH}`, logLevel: options.logLevel ?? 'error' });
    } catch (err) {
      throw new Error(`${provider} at ${options.providerBaseUrl} does not honour ${pactFile}${proxy.problems.length > 0 ? ` (${proxy.problems.join('; ')})` : ''}: ${failureSummary(err)}`, { cause: err });
    }
    if (proxy.problems.length > 0) throw new Error(`verifying ${pactFile}: ${proxy.problems.join('; ')}`);
    const never = states.filter((state) => !proxy.ran.has(state));
    if (never.length > 0) throw new Error(`verifying ${pactFile}: provider state(s) never set up: ${never.map((s) => `"${s}"`).join(', ')}`);
    return { consumer, provider, interactions: pact.interactions.length, states };
  } finally {
    await proxy.close();
  }
}

function verifierPort(option: number | undefined): number {
  const raw = option ?? process.env[PACT_VERIFIER_PORT_ENV];
  const port = raw === undefined || raw === '' ? DEFAULT_PACT_VERIFIER_PORT : Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`the Pact verifier's port must be an integer 1..65535 (the port option or ${PACT_VERIFIER_PORT_ENV}), got ${String(raw)}`);
  return port;
}

const nameOf = (party: unknown): string => String((party as { name?: unknown } | undefined)?.name ?? 'unknown');

/** Pact's core rejects with its JSON report as the message: the failed interactions, one per line. */
function failureSummary(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  try {
    type Mismatch = { mismatch?: string; description?: string; path?: string; type?: string };
    const report = JSON.parse(message) as { errors?: { interaction?: string; mismatch?: { message?: string; mismatches?: Mismatch[] } }[] };
    const describe = (m: Mismatch) => [m.path, m.mismatch ?? m.description ?? m.type].filter(Boolean).join(' -> ');
    const lines = (report.errors ?? []).map((e) => `${e.interaction ?? '?'}: ${e.mismatch?.message ?? (e.mismatch?.mismatches ?? []).map(describe).join('; ')}`);
    return lines.length > 0 ? lines.join('\n') : message;
  } catch {
    return message;
  }
}
