// One conformance suite, run for every connector package in connectors/ against the real
// backends of this test run. A new connector passes it before it ships; see docs/connector-guide.md.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, describe, test, type TestContext } from 'node:test';
import { createAjv, createSchemaRegistry, toIssues } from '../../src/kernel/schemas.ts';
import { secretFields } from '../../src/modules/connectors/connector-config.ts';
import { MANIFEST_SCHEMA } from '../../src/modules/connectors/manifest.schema.ts';
import { businessKeysOf } from '../../src/modules/lineage/business-keys.ts';
import { isConnector } from '../../src/sdk/define-connector.ts';
import { BadUpstreamDataError, NotFoundError, UnauthorizedError, UpstreamTimeoutError, UpstreamUnavailableError } from '../../src/sdk/errors.ts';
import { DeadlineExceeded, type OutgoingRequest } from '../../src/sdk/http-client.ts';
import type { Authenticator, CapabilityDeclaration, Connector } from '../../src/sdk/types.ts';
import { ROOT_DIR, setFault } from '../support/gateway.ts';
import { TEST_URLS } from '../support/ports.ts';
import { backendFor, createHarness, describeError, discoverConnectors, outcomeOf, realConfig, withWrongSecrets, type Candidate, type Outcome } from './support/harness.ts';
import { SAMPLES, SAMPLES_FILE } from './support/samples.ts';

/** A safety net: no single call of the suite may take longer, whatever the connector does. */
const CALL_LIMIT_MS = 5_000;
/** The hang check: abort after this long, then expect the rejection… */
const ABORT_AFTER_MS = 100;
/**
 * …before this much longer: ten times the 200 ms the connector guide asks for, so that a loaded
 * machine does not fail a connector that honours its signal, while one that ignores it (and waits
 * for the hanging backend, or for a timer of its own) still fails.
 */
const ABORT_SETTLE_LIMIT_MS = 2_000;
/** Field names that hold credentials; each must be marked "x-secret". */
const CREDENTIAL_FIELD = /secret|token|passw|passphrase|hmac|credential|key$/i;

const schemas = createSchemaRegistry(join(ROOT_DIR, 'schemas'));
const validateManifest = createAjv().compile(MANIFEST_SCHEMA);
const paramsAjv = createAjv({ useDefaults: true });
const configAjv = createAjv({ coerceTypes: true, useDefaults: true });

afterEach(async () => {
  await Promise.all(Object.keys(TEST_URLS).map((system) => setFault(system as keyof typeof TEST_URLS, { mode: 'ok' })));
});

for (const candidate of await discoverConnectors()) describeConnector(candidate);

function check(name: string, fn: (t: TestContext) => Promise<void> | void): void {
  test(name, fn);
}

function describeConnector(candidate: Candidate): void {
  const { exported } = candidate;
  const n = isConnector(exported) ? exported.manifest.name : candidate.folder;
  describe(`connector ${n}`, () => {
    check(`${n}: exports defineConnector({...}) as its default export`, () => {
      assert.equal(candidate.importError, undefined, `connectors/${candidate.folder} could not be imported: ${describeError(candidate.importError)}`);
      assert.ok(isConnector(exported), `connectors/${candidate.folder}: the default export must be defineConnector({...})`);
    });
    if (isConnector(exported)) describeBehaviour(n, candidate, exported);
  });
}

function describeBehaviour(n: string, candidate: Candidate, connector: Connector): void {
  const { manifest } = connector;
  const harness = createHarness();
  const { config, problems } = realConfig(connector);
  const backend = backendFor(manifest.system);
  const queries = manifest.capabilities.filter((c) => c.kind === 'query');
  let shared: Promise<Authenticator> | undefined;
  const authenticated = (): Promise<Authenticator> => (shared ??= connector.auth(harness.authContext(config)));
  after(async () => {
    await connector.close();
    harness.close();
  });

  /** One call as the gateway makes it: params checked and defaulted, a fresh context. */
  async function call(capability: CapabilityDeclaration, params: Readonly<Record<string, unknown>>, signal: AbortSignal, authenticator?: Authenticator): Promise<unknown> {
    const input = structuredClone(params) as Record<string, unknown>;
    const validate = paramsAjv.compile(capability.params);
    assert.ok(validate(input), `sample params of ${capability.name} break its params schema: ${toIssues(validate.errors).map((i) => i.message).join('; ')}`);
    const ctx = harness.callContext(config, authenticator ?? (await authenticated()), signal);
    return capability.kind === 'query' ? connector.query(capability.name, input, ctx) : connector.execute(capability.name, input, ctx);
  }

  /** Calls with a deadline that cannot hang the suite, and reports how it ended. */
  function attempt(capability: CapabilityDeclaration, params: Readonly<Record<string, unknown>>, authenticator?: Authenticator): Promise<Outcome> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DeadlineExceeded(CALL_LIMIT_MS)), CALL_LIMIT_MS);
    return outcomeOf(call(capability, params, deadline.signal, authenticator), CALL_LIMIT_MS + 1_000).finally(() => clearTimeout(timer));
  }

  function sampleFor(capability: CapabilityDeclaration): NonNullable<(typeof SAMPLES)[string]> {
    const sample = SAMPLES[capability.name];
    assert.ok(sample, `no sample params for capability ${capability.name} of ${n}: add an entry to SAMPLES in ${SAMPLES_FILE}`);
    return sample;
  }

  function requireBackend(): NonNullable<typeof backend> {
    assert.ok(backend, `${n} reaches system "${manifest.system}", which has no test backend in this run (${Object.keys(TEST_URLS).join(', ')})`);
    return backend;
  }

  function assertRejects(outcome: Outcome, expected: abstract new (...args: never[]) => Error, what: string): void {
    assert.ok(outcome.settled, `${what}: the call did not settle within ${CALL_LIMIT_MS} ms`);
    assert.equal(outcome.ok, false, `${what}: the call answered instead of throwing ${expected.name}`);
    assert.ok(outcome.error instanceof expected, `${what}: expected ${expected.name}, got ${describeError(outcome.error)}`);
  }

  check(`${n}: declares a manifest the registry accepts, with a canonical result per capability`, () => {
    assert.ok(validateManifest(manifest), toIssues(validateManifest.errors).map((i) => `manifest.${i.message}`).join('; '));
    for (const capability of manifest.capabilities) assert.doesNotThrow(() => schemas.validatorFor(capability.result), `${capability.name}: no canonical schema for ${capability.result}`);
  });

  check(`${n}: keeps its folder, package name and package version in step with the manifest`, () => {
    assert.equal(candidate.folder, manifest.name, 'the folder under connectors/ must be named like manifest.name');
    assert.equal(candidate.pkg.name, `@omnigate/connector-${manifest.name}`);
    assert.equal(candidate.pkg.version, manifest.version, 'package.json version and manifest.version move together');
  });

  for (const capability of manifest.capabilities) {
    check(`${n}: ${capability.name} has a params schema that compiles and accepts the sample params`, () => {
      const validate = paramsAjv.compile(capability.params);
      const { valid, unknown } = sampleFor(capability);
      for (const params of unknown ? [valid, unknown] : [valid]) {
        assert.ok(validate(structuredClone(params)), `sample ${JSON.stringify(params)}: ${toIssues(validate.errors).map((i) => i.message).join('; ')}`);
      }
      if (capability.name.endsWith('.get')) assert.ok(unknown, `add "unknown" params for ${capability.name} to SAMPLES in ${SAMPLES_FILE}`);
    });
  }

  check(`${n}: accepts the test run's settings as config and rejects an empty config`, () => {
    assert.deepEqual(problems, [], `the config of ${n} for this run is invalid (settings come from connectorEnv in scripts/lib/backends.ts)`);
    assert.equal(configAjv.validate(manifest.configSchema, {}), false, 'an empty config must be refused (a required field without default)');
  });

  check(`${n}: marks every credential field of its config "x-secret"`, () => {
    const properties = Object.keys((manifest.configSchema.properties ?? {}) as Record<string, unknown>);
    const secrets = new Set(secretFields(manifest.configSchema));
    const unmarked = properties.filter((p) => CREDENTIAL_FIELD.test(p) && !secrets.has(p));
    assert.deepEqual(unmarked, [], `credential fields without "x-secret": true: ${unmarked.join(', ')}`);
  });

  check(`${n}: authenticates against the real backend with the real config`, async () => {
    requireBackend();
    const outcome = await outcomeOf(authenticated(), CALL_LIMIT_MS);
    assert.ok(outcome.settled && outcome.ok, `auth() failed: ${outcome.settled ? describeError(outcome.error) : 'it did not settle'}`);
  });

  check(`${n}: reports itself healthy against the real backend`, async () => {
    requireBackend();
    const ctx = harness.callContext(config, await authenticated(), AbortSignal.timeout(CALL_LIMIT_MS));
    const report = await connector.health(ctx);
    assert.equal(report.ok, true, `health() answered not ok: ${report.detail ?? '(no detail)'}`);
  });

  for (const capability of queries) {
    check(`${n}: ${capability.name} answers data valid against the canonical ${capability.result} schema`, async () => {
      requireBackend();
      const outcome = await attempt(capability, sampleFor(capability).valid);
      assert.ok(outcome.settled && outcome.ok, `the call failed: ${outcome.settled ? describeError(outcome.error) : 'it did not settle'}`);
      const validate = schemas.validatorFor(capability.result);
      assert.ok(validate(outcome.value), `breaks ${capability.result}: ${toIssues(validate.errors).slice(0, 5).map((i) => i.message).join('; ')}`);
    });
  }

  for (const capability of queries.filter((c) => (c.businessKeys ?? []).length > 0)) {
    check(`${n}: ${capability.name} finds every declared business key in its answer (lineage)`, async () => {
      requireBackend();
      const outcome = await attempt(capability, sampleFor(capability).valid);
      assert.ok(outcome.settled && outcome.ok, `the call failed: ${outcome.settled ? describeError(outcome.error) : 'it did not settle'}`);
      const found = businessKeysOf(manifest.system, capability, outcome.value);
      for (const key of capability.businessKeys ?? []) {
        const system = key.system ?? manifest.system;
        assert.ok(found.some((k) => k.system === system && k.type === key.type), `businessKeys ${key.type} at ${key.path}: no string id there in the answer to the sample ${JSON.stringify(sampleFor(capability).valid)}`);
      }
    });
  }

  for (const capability of queries.filter((c) => SAMPLES[c.name]?.unknown)) {
    check(`${n}: ${capability.name} maps an unknown id to NotFoundError`, async () => {
      requireBackend();
      assertRejects(await attempt(capability, sampleFor(capability).unknown ?? {}), NotFoundError, 'unknown id');
    });
  }

  for (const capability of manifest.capabilities) {
    check(`${n}: ${capability.name} maps a backend that drops connections to UpstreamUnavailableError`, async () => {
      await setFault(requireBackend(), { mode: 'down' });
      assertRejects(await attempt(capability, sampleFor(capability).valid), UpstreamUnavailableError, 'backend down');
    });

    check(`${n}: ${capability.name} maps a 5xx error reply to UpstreamUnavailableError`, async () => {
      await setFault(requireBackend(), { mode: 'error', errorRate: 1 });
      assertRejects(await attempt(capability, sampleFor(capability).valid), UpstreamUnavailableError, 'error reply');
    });

    // Accepted: BadUpstreamDataError from the mapper (preferred: it names the field), or data
    // that breaks the canonical schema, which the gateway refuses with the same
    // CONNECTOR_BAD_DATA. Refused: schema-valid data made out of garbage, or any other error.
    check(`${n}: ${capability.name} refuses a garbage reply (BadUpstreamDataError or schema-invalid data)`, async () => {
      await setFault(requireBackend(), { mode: 'garbage' });
      const outcome = await attempt(capability, sampleFor(capability).valid);
      assert.ok(outcome.settled, `the call did not settle within ${CALL_LIMIT_MS} ms`);
      if (outcome.ok) {
        assert.equal(schemas.validatorFor(capability.result)(outcome.value), false, 'turned a garbage reply into schema-valid data');
      } else {
        assert.ok(outcome.error instanceof BadUpstreamDataError, `expected BadUpstreamDataError, got ${describeError(outcome.error)}`);
      }
    });

    check(`${n}: ${capability.name} rejects when its signal aborts while the backend hangs`, async () => {
      const system = requireBackend();
      // Fresh credentials, so that the check is about the call and not a refresh (checked below).
      const authenticator = await connector.auth(harness.authContext(config));
      await setFault(system, { mode: 'hang' });
      await assertAbortHonoured(capability, authenticator);
    });
  }

  const probe = queries[0];
  if (probe) {
    // Only a connector with credentials can have them refused.
    if (secretFields(manifest.configSchema).length > 0) check(`${n}: maps refused credentials to UnauthorizedError`, async () => {
      requireBackend();
      const wrong = withWrongSecrets(connector, config);
      const auth = await outcomeOf(connector.auth(harness.authContext(wrong)), CALL_LIMIT_MS);
      assert.ok(auth.settled, 'auth() with wrong credentials did not settle');
      if (!auth.ok) return assert.ok(auth.error instanceof UnauthorizedError, `auth() refused, but with ${describeError(auth.error)} instead of UnauthorizedError`);
      assertRejects(await attempt(probe, sampleFor(probe).valid, auth.value as Authenticator), UnauthorizedError, 'wrong credentials');
    });

    check(`${n}: honours the abort signal while it (re)acquires credentials`, async () => {
      const system = requireBackend();
      const authenticator = await connector.auth(harness.authContext(config));
      // As after a 401: an authenticator that refreshes drops what it handed out and must fetch anew.
      const request: OutgoingRequest = { method: 'GET', url: new URL(String(config.baseUrl)), headers: {}, body: undefined };
      await authenticator.authorize(request);
      authenticator.invalidate?.(request);
      await setFault(system, { mode: 'hang' });
      await assertAbortHonoured(probe, authenticator);
    });
  }

  async function assertAbortHonoured(capability: CapabilityDeclaration, authenticator: Authenticator): Promise<void> {
    const controller = new AbortController();
    const started = performance.now();
    const pending = outcomeOf(call(capability, sampleFor(capability).valid, controller.signal, authenticator), ABORT_AFTER_MS + ABORT_SETTLE_LIMIT_MS, started);
    await sleep(ABORT_AFTER_MS);
    const abortedAt = performance.now() - started;
    controller.abort(new DeadlineExceeded(ABORT_AFTER_MS));
    const outcome = await pending;
    assert.ok(outcome.settled, `still pending ${ABORT_SETTLE_LIMIT_MS} ms after the signal aborted`);
    assert.ok(outcome.atMs >= abortedAt, `settled after ${Math.round(outcome.atMs)} ms, before the abort: the backend was meant to hang`);
    assert.equal(outcome.ok, false, 'answered although the backend hangs');
    assert.ok(outcome.error instanceof UpstreamTimeoutError, `a deadline abort should surface as UpstreamTimeoutError, got ${describeError(outcome.error)}`);
  }
}
