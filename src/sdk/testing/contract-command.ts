// `omnigate-connector contract`, run in a connector's folder: records its Pact contract from its
// consumer tests, then verifies every contract in contracts/ against the real backend.
import { spawn } from 'node:child_process';
import { existsSync, globSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isConnector } from '../define-connector.ts';
import type { OutgoingRequest } from '../http-client.ts';
import type { Connector } from '../types.ts';
import { configFromEnv, createTestContexts } from './context.ts';
import { CONTRACTS_UPDATE_ENV, DEFAULT_PACT_VERIFIER_PORT, PACT_VERIFIER_PORT_ENV, verifyContract } from './contract.ts';
import type { ProviderStateHandler, ReplayedRequest, RequestFilter } from './verification-proxy.ts';

/** The consumer tests the command runs, from the connector's folder. */
export const CONTRACT_TESTS_GLOB = 'test/**/*.contract.test.ts';
/** Where the command records contracts, in the connector's folder. */
export const CONTRACTS_FOLDER = 'contracts';
/** Optional: `export default { 'a contact exists': async (params) => {…} }` (and optionally `export const requestFilter`). */
export const PROVIDER_STATES_FILE = 'test/provider-states.ts';

const USAGE = `usage: omnigate-connector contract [--record-only | --verify-only]

Run in a connector's folder. Records its contract: runs ${CONTRACT_TESTS_GLOB} with
${CONTRACTS_UPDATE_ENV}=1, which writes ${CONTRACTS_FOLDER}/<consumer>-<provider>.json. Then verifies every
contract in ${CONTRACTS_FOLDER}/ against the real backend: the origin of the connector's baseUrl, from
its OMNIGATE_CONNECTOR_<NAME>_* variables; each replayed request gets the connector's own
credentials; provider states come from the default export of ${PROVIDER_STATES_FILE}.
  --record-only   only record        --verify-only   only verify what ${CONTRACTS_FOLDER}/ holds
  --update        accepted: recording always rewrites ${CONTRACTS_FOLDER}/ (review the diff before committing)
${PACT_VERIFIER_PORT_ENV}: the verifier's local port (default ${DEFAULT_PACT_VERIFIER_PORT}).
Exit: 0 recorded and verified; 1 a test or a verification failed; 2 usage or setup to fix.`;

export interface ContractCommandOptions {
  /** The connector's folder. Default: the current folder. */
  readonly cwd?: string;
  /** Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where progress lines go. Default stdout. */
  readonly out?: (line: string) => void;
  /** Where failures and refusals go. Default stderr. */
  readonly err?: (line: string) => void;
}

/** A refusal to fix before anything can run (exit 2). */
class SetupProblem extends Error {}

/**
 * `omnigate-connector contract [--record-only | --verify-only]`: records the connector's contract,
 * then verifies it against the real backend. Resolves to the exit code: 0 done, 1 a consumer
 * test or a verification failed, 2 bad usage or a setup problem (named).
 */
export async function runContractCommand(argv: readonly string[], options: ContractCommandOptions = {}): Promise<number> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const out = options.out ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const fail = options.err ?? ((line: string) => void process.stderr.write(`${line}\n`));
  let flags: { 'record-only'?: boolean; 'verify-only'?: boolean; update?: boolean; help?: boolean };
  try {
    const spec = { 'record-only': { type: 'boolean' }, 'verify-only': { type: 'boolean' }, update: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;
    flags = parseArgs({ args: [...argv], options: spec, strict: true }).values;
  } catch (err) {
    fail(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (flags.help) return (out(USAGE), 0);
  if (flags['record-only'] && flags['verify-only']) return (fail(`--record-only and --verify-only exclude each other\n${USAGE}`), 2);
  try {
    const connector = await loadConnector(cwd);
    if (!flags['verify-only']) {
      const recorded = await record(cwd, env, out, fail);
      if (recorded !== 0) return recorded;
    }
    return flags['record-only'] ? 0 : await verify(connector, cwd, env, out, fail);
  } catch (err) {
    if (!(err instanceof SetupProblem)) throw err;
    fail(err.message);
    return 2;
  }
}

async function loadConnector(cwd: string): Promise<Connector<Record<string, unknown>>> {
  const pkgFile = join(cwd, 'package.json');
  if (!existsSync(pkgFile)) throw new SetupProblem(`${cwd} has no package.json: run this in a connector's folder`);
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { main?: unknown; exports?: unknown };
  const exported = typeof pkg.exports === 'string' ? pkg.exports : (pkg.exports as Record<string, unknown> | undefined)?.['.'];
  const main = typeof pkg.main === 'string' ? pkg.main : typeof exported === 'string' ? exported : undefined;
  if (main === undefined) throw new SetupProblem(`${pkgFile} names no "main": the connector's entry file (./src/index.ts)`);
  const module = (await import(pathToFileURL(join(cwd, main)).href)) as { default?: unknown };
  if (!isConnector(module.default)) throw new SetupProblem(`${main} does not export a connector by default: export default defineConnector({...})`);
  return module.default as Connector<Record<string, unknown>>;
}

type Print = (line: string) => void;

async function record(cwd: string, env: Readonly<Record<string, string | undefined>>, out: Print, fail: Print): Promise<number> {
  const files = globSync(CONTRACT_TESTS_GLOB, { cwd }).sort();
  if (files.length === 0) throw new SetupProblem(`no consumer contract test in ${cwd} (${CONTRACT_TESTS_GLOB}): write one with createConsumerContract from omnigate/sdk/testing (see the connector guide, "Contract tests")`);
  out(`recording: node --test ${files.join(' ')} (${CONTRACTS_UPDATE_ENV}=1)`);
  // The child is a test run of its own, even when this command runs inside one.
  const { NODE_TEST_CONTEXT: _parentRun, ...childEnv } = env;
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, ['--test', '--test-force-exit', ...files], { cwd, env: { ...childEnv, [CONTRACTS_UPDATE_ENV]: '1' }, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (status) => resolve(status ?? 1));
  });
  if (code !== 0) {
    fail(`recording failed: the consumer tests did not pass, ${CONTRACTS_FOLDER}/ is unchanged where they failed`);
    return 1;
  }
  for (const file of contractFiles(cwd)) out(`recorded ${relative(cwd, file)}`);
  return 0;
}

function contractFiles(cwd: string): string[] {
  const dir = join(cwd, CONTRACTS_FOLDER);
  return existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.json')).sort().map((name) => join(dir, name)) : [];
}

async function verify(connector: Connector<Record<string, unknown>>, cwd: string, env: Readonly<Record<string, string | undefined>>, out: Print, fail: Print): Promise<number> {
  const files = contractFiles(cwd);
  if (files.length === 0) throw new SetupProblem(`no contract in ${join(cwd, CONTRACTS_FOLDER)}: record one first (omnigate-connector contract --record-only)`);
  const { config, problems } = configFromEnv(connector, env);
  if (problems.length > 0) throw new SetupProblem(`the connector's config is incomplete, so its backend cannot be reached:\n  ${problems.join('\n  ')}`);
  const baseUrl = String(config.baseUrl ?? '');
  if (!URL.canParse(baseUrl)) throw new SetupProblem(`the connector's config has no baseUrl to verify against (got "${baseUrl}")`);
  const providerBaseUrl = new URL(baseUrl).origin;
  const { stateHandlers, requestFilter } = await loadProviderStates(cwd);
  const contexts = createTestContexts({ config });
  try {
    let filter = requestFilter;
    if (filter === undefined) {
      try {
        filter = credentialsOf(await connector.auth(contexts.authContext()), providerBaseUrl);
      } catch (err) {
        fail(`NOT verified: the connector's auth() failed against ${baseUrl}, so no request could carry real credentials: ${err instanceof Error ? err.message : String(err)}`);
        return 1;
      }
    }
    const portSetting = env[PACT_VERIFIER_PORT_ENV];
    let failed = 0;
    for (const pactFile of files) {
      const name = relative(cwd, pactFile);
      try {
        const result = await verifyContract({ pactFile, providerBaseUrl, stateHandlers, requestFilter: filter, ...(portSetting ? { port: Number(portSetting) } : {}) });
        out(`verified ${name} against ${providerBaseUrl}: ${result.interactions} interaction(s)${result.states.length > 0 ? `, provider states ${result.states.map((s) => `"${s}"`).join(', ')}` : ''}`);
      } catch (err) {
        failed += 1;
        fail(`NOT verified ${name} against ${providerBaseUrl}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return failed === 0 ? 0 : 1;
  } finally {
    contexts.close();
  }
}

/** The default request filter: the connector's own authenticator, over the real request. */
function credentialsOf(authenticator: { authorize(request: OutgoingRequest): void | Promise<void> }, providerBaseUrl: string): RequestFilter {
  return async (request: ReplayedRequest) => {
    const outgoing: OutgoingRequest = { method: request.method, url: new URL(request.path, providerBaseUrl), headers: {}, body: request.body.length > 0 ? request.body.toString('utf8') : undefined };
    await authenticator.authorize(outgoing);
    for (const [name, value] of Object.entries(outgoing.headers)) request.headers[name.toLowerCase()] = value;
  };
}

async function loadProviderStates(cwd: string): Promise<{ stateHandlers: Record<string, ProviderStateHandler>; requestFilter?: RequestFilter }> {
  const file = join(cwd, PROVIDER_STATES_FILE);
  if (!existsSync(file)) return { stateHandlers: {} };
  const module = (await import(pathToFileURL(file).href)) as { default?: unknown; requestFilter?: unknown };
  const handlers = module.default;
  const valid = typeof handlers === 'object' && handlers !== null && Object.values(handlers).every((h) => typeof h === 'function' || (typeof h === 'object' && h !== null));
  if (!valid) throw new SetupProblem(`${PROVIDER_STATES_FILE} must export by default an object of provider-state handlers: { 'a contact exists': async (params) => {…} }`);
  if (module.requestFilter !== undefined && typeof module.requestFilter !== 'function') throw new SetupProblem(`${PROVIDER_STATES_FILE}: requestFilter must be a function of the replayed request`);
  return { stateHandlers: handlers as Record<string, ProviderStateHandler>, ...(module.requestFilter ? { requestFilter: module.requestFilter as RequestFilter } : {}) };
}
