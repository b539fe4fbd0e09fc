import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PactV3 } from '@pact-foundation/pact';
import { createLogger } from '../../../src/kernel/logger.ts';
import { createSchemaRegistry } from '../../../src/kernel/schemas.ts';
import { createHttpClient, type Connector, type ConnectorContext } from 'omnigate/sdk';
import { createPools } from '../../../src/sdk/transport.ts';

// Pact's native core would otherwise report usage to an analytics service on every run.
process.env.PACT_DO_NOT_TRACK ??= 'true';

export const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The committed contracts: what the provider side verifies and what review sees change. */
export const CONTRACTS_DIR = join(ROOT_DIR, 'contracts');

/** `npm run contracts:update` sets this: the consumer tests then rewrite contracts/ instead of checking it. */
const isUpdating = process.env.CONTRACTS_UPDATE === '1';

export const schemas = createSchemaRegistry(join(ROOT_DIR, 'schemas'));

export interface ConsumerContract {
  /** Add the interactions of the next `execute` here. */
  readonly pact: PactV3;
  /**
   * Runs `work` while the interactions added to `pact` are served by a mock server, with the
   * connector's context pointed at it: what the registry gives a connector, its own `auth()` run
   * over an uncredentialed client, then the SDK's HTTP client with that authenticator. The
   * contract thus records exactly the requests the connector's real code sends.
   */
  execute<Config>(connector: Connector<Config>, configFor: (baseUrl: string) => Config, work: (ctx: ConnectorContext<Config>) => Promise<void>): Promise<void>;
  /**
   * Run last: the contract the tests just recorded must equal the committed one (or, when
   * updating, replaces it). A connector change that alters a contract thus fails CI until the
   * new contract is committed, where review sees it.
   */
  settle(): void;
}

/** A Pact for one connector (consumer) and its backend (provider), recorded into a fresh folder. */
export function createConsumerContract(consumer: string, provider: string): ConsumerContract {
  const dir = mkdtempSync(join(tmpdir(), 'omnigate-pact-'));
  const name = `${consumer}-${provider}.json`;
  const committedFile = join(CONTRACTS_DIR, name);
  const pact = new PactV3({ consumer, provider, dir, logLevel: 'error' });
  let failures = 0;
  return {
    pact,
    async execute(connector, configFor, work) {
      try {
        await execute(pact, connector, configFor, work);
      } catch (err) {
        failures += 1;
        throw err;
      }
    },
    settle() {
      const recordedFile = join(dir, name);
      try {
        assert.ok(existsSync(recordedFile), `no interaction of ${consumer} was recorded`);
        if (isUpdating) {
          // A failed test recorded nothing: writing the rest would silently drop its interaction.
          assert.equal(failures, 0, `${consumer}: fix the failing consumer tests before updating contracts/${name}`);
          copyFileSync(recordedFile, committedFile);
          return;
        }
        assert.ok(existsSync(committedFile), `${name} is not committed: run \`npm run contracts:update\` and commit contracts/`);
        const recorded = comparable(recordedFile);
        const committed = comparable(committedFile);
        assert.deepEqual(recorded, committed, `contracts/${name} differs from what ${consumer}'s consumer tests record (${describeDrift(recorded, committed)}): run \`npm run contracts:update\` and commit the change`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

interface PactFile {
  readonly consumer: unknown;
  readonly provider: unknown;
  readonly interactions: readonly { readonly description: string }[];
}

/** The part of a pact file that is the contract: without the Pact versions that wrote it. */
function comparable(file: string): PactFile {
  const { consumer, provider, interactions } = JSON.parse(readFileSync(file, 'utf8')) as PactFile;
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

async function execute<Config>(
  pact: PactV3,
  connector: Connector<Config>,
  configFor: (baseUrl: string) => Config,
  work: (ctx: ConnectorContext<Config>) => Promise<void>,
): Promise<void> {
  await pact.executeTest(async ({ url: baseUrl }) => {
    const config = configFor(baseUrl);
    const log = createLogger({ level: 'silent' });
    const pools = createPools();
    const signal = AbortSignal.timeout(5_000);
    try {
      const authenticator = await connector.auth({ config, log, http: createHttpClient({ baseUrl, log, pools, signal }) });
      const trace = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true, requestId: 'contract' };
      await work({ config, log, signal, trace, http: createHttpClient({ baseUrl, log, pools, signal, trace, authenticator }) });
    } finally {
      pools.destroy();
    }
  });
}
