import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { createAjv, toIssues } from '../../kernel/schemas.ts';
import { secretFields } from '../../modules/connectors/connector-config.ts';
import { MANIFEST_SCHEMA } from '../../modules/connectors/manifest.schema.ts';
import { isConnector } from '../define-connector.ts';
import { BadUpstreamDataError, NotFoundError, UnauthorizedError, UpstreamTimeoutError, UpstreamUnavailableError } from '../errors.ts';
import { DeadlineExceeded, type OutgoingRequest } from '../http-client.ts';
import type { Authenticator, CapabilityDeclaration, Connector } from '../types.ts';
import { acceptsEmptyConfig, configProblems, hasBusinessKey, packageProblems, unmarkedSecrets, withWrongSecrets } from './conformance-support.ts';
import { canonicalSchemas, createTestContexts, type TestContexts } from './context.ts';
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';
import { describeError, outcomeOf, until, type Outcome } from './outcome.ts';

/** Params for one capability that the suite calls the real backend with. */
export interface CapabilitySample {
  /** Params naming a record that exists in the backend: a query must answer canonical data. */
  readonly valid: Readonly<Record<string, unknown>>;
  /** Params naming a record the backend does not have: a query must throw NotFoundError. Required for `*.get`. */
  readonly unknown?: Readonly<Record<string, unknown>>;
}

export interface ConformanceOptions<Config> {
  /** The connector under test: the default export of its `src/index.ts`. */
  readonly connector: Connector<Config>;
  /** Its config for the real backend, e.g. from {@link configFromEnv}; `baseUrl` may have a context path. */
  readonly config: Config;
  /** Sample params per capability name; every capability of the manifest needs one. */
  readonly samples: Readonly<Record<string, CapabilitySample>>;
  /** The connector's package.json: when given, its name and version must agree with the manifest, as an install checks. */
  readonly packageJson?: { readonly name?: unknown; readonly version?: unknown };
  /** No single call may take longer, whatever the connector does. Default {@link DEFAULT_CALL_LIMIT_MS}. */
  readonly callLimitMs?: number;
  /** After its signal aborts, a call must settle within this. Default {@link DEFAULT_ABORT_SETTLE_LIMIT_MS}. */
  readonly abortSettleLimitMs?: number;
}

export const DEFAULT_CALL_LIMIT_MS = 5_000;
/**
 * Ten times the 200 ms the connector guide asks for, so that a loaded machine does not fail a
 * connector that honours its signal, while one that ignores it (and waits for the hanging
 * backend, or for a timer of its own) still fails.
 */
export const DEFAULT_ABORT_SETTLE_LIMIT_MS = 2_000;

const validateManifest = createAjv().compile(MANIFEST_SCHEMA);
const paramsAjv = createAjv({ useDefaults: true });

/**
 * Registers the conformance suite (node:test) for one connector against its real backend: the
 * manifest, params samples and config; auth, health and canonical answers; business keys; an
 * unknown id; and, through a fault proxy the suite starts in front of `config.baseUrl` (keeping
 * its path), a backend that drops connections, answers 5xx, answers garbage or hangs, wrong
 * credentials, and the abort signal while the call or a credential refresh waits. Queries are
 * called with their `valid` sample; commands only ever meet a fault, so nothing is written to the
 * backend. Each failing check says what to fix. See docs/connector-guide.md, "Testing your connector".
 */
export function describeConformance<Config>(options: ConformanceOptions<Config>): void {
  const { connector, samples } = options;
  if (!isConnector(connector)) {
    test('the connector under test is a defineConnector({...}) result', () => assert.fail('pass the default export of your src/index.ts, made with defineConnector({...}) from omnigate/sdk'));
    return;
  }
  const { manifest } = connector;
  const n = manifest.name;
  const callLimitMs = options.callLimitMs ?? DEFAULT_CALL_LIMIT_MS;
  const settleLimitMs = options.abortSettleLimitMs ?? DEFAULT_ABORT_SETTLE_LIMIT_MS;
  const problems = configProblems(connector, options.config);
  const baseUrl = (options.config as { baseUrl?: unknown }).baseUrl;
  if (problems.length === 0 && !(typeof baseUrl === 'string' && /^https?:\/\//.test(baseUrl))) {
    problems.push(`config.baseUrl must be the backend's http(s) URL (the suite puts its fault proxy in front of it), got ${JSON.stringify(baseUrl)}`);
  }
  const queries = manifest.capabilities.filter((c) => c.kind === 'query');

  describe(`conformance of ${n}`, () => {
    let proxy: FaultProxy | undefined;
    let config: Config;
    let contexts: TestContexts<Config>;
    let shared: Promise<Authenticator> | undefined;

    before(async () => {
      if (problems.length > 0) return;
      // Every call goes through the proxy: it forwards untouched until a check sets a fault.
      proxy = await startFaultProxy({ target: String(baseUrl) });
      config = { ...options.config, baseUrl: proxy.url };
      contexts = createTestContexts({ config });
    });
    afterEach(() => proxy?.clear());
    after(async () => {
      await connector.close();
      contexts?.close();
      await proxy?.close();
    });

    /** The proxy in front of the backend; fails the check when the config cannot reach one. */
    function backend(): FaultProxy {
      assert.deepEqual(problems, [], `cannot call the backend: the config passed to describeConformance is invalid: ${problems.join('; ')}`);
      assert.ok(proxy, 'the fault proxy did not start (see the before hook)');
      return proxy;
    }
    const authenticated = (): Promise<Authenticator> => (shared ??= connector.auth(contexts.authContext()));

    function sampleFor(capability: CapabilityDeclaration): CapabilitySample {
      const sample = samples[capability.name];
      assert.ok(sample, `no sample params for capability ${capability.name} of ${n}: add samples['${capability.name}'] = { valid: {...} } to the options of describeConformance`);
      return sample;
    }

    /** One call as the gateway makes it: params checked and defaulted, a fresh context. */
    async function call(capability: CapabilityDeclaration, params: Readonly<Record<string, unknown>>, signal: AbortSignal, authenticator?: Authenticator): Promise<unknown> {
      const input = structuredClone(params) as Record<string, unknown>;
      const validate = paramsAjv.compile(capability.params);
      assert.ok(validate(input), `sample params of ${capability.name} break its params schema: ${toIssues(validate.errors).map((i) => i.message).join('; ')}`);
      const ctx = contexts.callContext({ authenticator: authenticator ?? (await authenticated()), signal });
      return capability.kind === 'query' ? connector.query(capability.name, input, ctx) : connector.execute(capability.name, input, ctx);
    }

    /** Calls with a deadline that cannot hang the suite, and reports how it ended. */
    function attempt(capability: CapabilityDeclaration, params: Readonly<Record<string, unknown>>, authenticator?: Authenticator): Promise<Outcome> {
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(new DeadlineExceeded(callLimitMs)), callLimitMs);
      return outcomeOf(call(capability, params, deadline.signal, authenticator), callLimitMs + 1_000).finally(() => clearTimeout(timer));
    }

    function assertRejects(outcome: Outcome, expected: abstract new (...args: never[]) => Error, what: string, fix: string): void {
      assert.ok(outcome.settled, `${what}: the call did not settle within ${callLimitMs} ms`);
      assert.equal(outcome.ok, false, `${what}: the call answered instead of throwing ${expected.name} (${fix})`);
      assert.ok(outcome.error instanceof expected, `${what}: expected ${expected.name}, got ${describeError(outcome.error)} (${fix})`);
    }

    function assertAnswered(outcome: Outcome): unknown {
      assert.ok(outcome.settled && outcome.ok, `the call failed: ${outcome.settled ? describeError(outcome.error) : `it did not settle within ${callLimitMs} ms`}`);
      return outcome.value;
    }

    test(`${n}: declares a manifest the registry accepts, with a canonical result per capability`, () => {
      assert.ok(validateManifest(manifest), toIssues(validateManifest.errors).map((i) => `manifest.${i.message}`).join('; '));
      for (const capability of manifest.capabilities) assert.doesNotThrow(() => canonicalSchemas().validatorFor(capability.result), `${capability.name}: no canonical schema for ${capability.result}`);
    });

    const pkg = options.packageJson;
    if (pkg) test(`${n}: keeps its package name and version in step with the manifest`, () => assert.deepEqual(packageProblems(pkg, manifest), []));

    for (const capability of manifest.capabilities) {
      test(`${n}: ${capability.name} has a params schema that compiles and accepts the sample params`, () => {
        const validate = paramsAjv.compile(capability.params);
        const { valid, unknown } = sampleFor(capability);
        for (const params of unknown ? [valid, unknown] : [valid]) {
          assert.ok(validate(structuredClone(params)), `sample ${JSON.stringify(params)}: ${toIssues(validate.errors).map((i) => i.message).join('; ')}`);
        }
        if (capability.name.endsWith('.get')) assert.ok(unknown, `add "unknown" params (an id the backend does not have) to samples['${capability.name}']`);
      });
    }

    test(`${n}: accepts the test run's settings as config and rejects an empty config`, () => {
      assert.deepEqual(problems, [], `the config of ${n} passed to describeConformance is invalid`);
      assert.equal(acceptsEmptyConfig(connector), false, 'an empty config must be refused (a required field without default)');
    });

    test(`${n}: marks every credential field of its config "x-secret"`, () => {
      const unmarked = unmarkedSecrets(connector);
      assert.deepEqual(unmarked, [], `credential fields without "x-secret": true in the config schema: ${unmarked.join(', ')}`);
    });

    test(`${n}: authenticates against the real backend with the real config`, async () => {
      backend();
      const outcome = await outcomeOf(authenticated(), callLimitMs);
      assert.ok(outcome.settled && outcome.ok, `auth() failed: ${outcome.settled ? describeError(outcome.error) : 'it did not settle'}`);
    });

    test(`${n}: reports itself healthy against the real backend`, async () => {
      backend();
      const report = await connector.health(contexts.callContext({ authenticator: await authenticated(), signal: AbortSignal.timeout(callLimitMs) }));
      assert.equal(report.ok, true, `health() answered not ok: ${report.detail ?? '(no detail)'}`);
    });

    for (const capability of queries) {
      test(`${n}: ${capability.name} answers data valid against the canonical ${capability.result} schema`, async () => {
        backend();
        const value = assertAnswered(await attempt(capability, sampleFor(capability).valid));
        const validate = canonicalSchemas().validatorFor(capability.result);
        assert.ok(validate(value), `breaks ${capability.result}: ${toIssues(validate.errors).slice(0, 5).map((i) => i.message).join('; ')}`);
      });
    }

    for (const capability of queries.filter((c) => (c.businessKeys ?? []).length > 0)) {
      test(`${n}: ${capability.name} finds every declared business key in its answer (lineage)`, async () => {
        backend();
        const { valid } = sampleFor(capability);
        const value = assertAnswered(await attempt(capability, valid));
        for (const key of capability.businessKeys ?? []) {
          assert.ok(hasBusinessKey(value, capability.result, key), `businessKeys ${key.type} at ${key.path}: no string id there in the answer to the sample ${JSON.stringify(valid)}`);
        }
      });
    }

    for (const capability of queries.filter((c) => samples[c.name]?.unknown)) {
      test(`${n}: ${capability.name} maps an unknown id to NotFoundError`, async () => {
        backend();
        const outcome = await attempt(capability, sampleFor(capability).unknown ?? {});
        assertRejects(outcome, NotFoundError, 'unknown id', "throw new NotFoundError(...) from omnigate/sdk when the backend says it has no such record");
      });
    }

    for (const capability of manifest.capabilities) {
      test(`${n}: ${capability.name} maps a backend that drops connections to UpstreamUnavailableError`, async () => {
        backend().setFault({ kind: 'down' });
        assertRejects(await attempt(capability, sampleFor(capability).valid), UpstreamUnavailableError, 'backend down', 'let the errors of ctx.http through');
      });

      test(`${n}: ${capability.name} maps a 5xx error reply to UpstreamUnavailableError`, async () => {
        backend().setFault({ kind: 'error', status: 503 });
        assertRejects(await attempt(capability, sampleFor(capability).valid), UpstreamUnavailableError, 'error reply 503', 'ctx.http returns every status: throw UpstreamUnavailableError for 500..599');
      });

      // Accepted: BadUpstreamDataError from the mapper (preferred: it names the field), or data
      // that breaks the canonical schema, which the gateway refuses with the same
      // CONNECTOR_BAD_DATA. Refused: schema-valid data made out of garbage, or any other error.
      test(`${n}: ${capability.name} refuses a garbage reply (BadUpstreamDataError or schema-invalid data)`, async () => {
        backend().setFault({ kind: 'garbage' });
        const outcome = await attempt(capability, sampleFor(capability).valid);
        assert.ok(outcome.settled, `the call did not settle within ${callLimitMs} ms`);
        if (outcome.ok) {
          assert.equal(canonicalSchemas().validatorFor(capability.result)(outcome.value), false, 'turned a garbage reply into schema-valid data: check every field in the mapper (field() from omnigate/sdk)');
        } else {
          assert.ok(outcome.error instanceof BadUpstreamDataError, `expected BadUpstreamDataError, got ${describeError(outcome.error)}`);
        }
      });

      test(`${n}: ${capability.name} rejects when its signal aborts while the backend hangs`, async () => {
        backend();
        // Fresh credentials, so that the check is about the call and not a refresh (checked below).
        await assertAbortHonoured(capability, await connector.auth(contexts.authContext()));
      });
    }

    const probe = queries[0];
    if (probe) {
      // Only a connector with credentials can have them refused.
      if (secretFields(manifest.configSchema).length > 0) test(`${n}: maps refused credentials to UnauthorizedError`, async () => {
        backend();
        const wrong = createTestContexts({ config: withWrongSecrets(connector, config) });
        try {
          const auth = await outcomeOf(connector.auth(wrong.authContext()), callLimitMs);
          assert.ok(auth.settled, 'auth() with wrong credentials did not settle');
          if (!auth.ok) return assert.ok(auth.error instanceof UnauthorizedError, `auth() refused, but with ${describeError(auth.error)} instead of UnauthorizedError`);
          assertRejects(await attempt(probe, sampleFor(probe).valid, auth.value as Authenticator), UnauthorizedError, 'wrong credentials', 'map a 401/403 of the backend to UnauthorizedError');
        } finally {
          wrong.close();
        }
      });

      test(`${n}: honours the abort signal while it (re)acquires credentials`, async () => {
        backend();
        const authenticator = await connector.auth(contexts.authContext());
        // As after a 401: an authenticator that refreshes drops what it handed out and must fetch anew.
        const request: OutgoingRequest = { method: 'GET', url: new URL(String((config as { baseUrl: unknown }).baseUrl)), headers: {}, body: undefined };
        await authenticator.authorize(request);
        authenticator.invalidate?.(request);
        await assertAbortHonoured(probe, authenticator);
      });
    }

    /** Makes the backend hang, calls, aborts once the request is held, and expects a prompt UpstreamTimeoutError. */
    async function assertAbortHonoured(capability: CapabilityDeclaration, authenticator: Authenticator): Promise<void> {
      const faults = backend();
      faults.setFault({ kind: 'hang' });
      const controller = new AbortController();
      let settledAt: number | undefined;
      const pending = call(capability, sampleFor(capability).valid, controller.signal, authenticator);
      const track = (): void => void (settledAt = performance.now());
      pending.then(track, track);
      // Abort once the backend holds the request (or the call settled already): a condition, not a timer.
      const held = await until(() => settledAt !== undefined || faults.stats().hanging > 0, callLimitMs);
      const abortedAt = performance.now();
      controller.abort(new DeadlineExceeded(callLimitMs));
      const outcome = await outcomeOf(pending, settleLimitMs);
      assert.ok(held, `the call neither reached the backend nor settled within ${callLimitMs} ms`);
      assert.ok(settledAt === undefined || settledAt >= abortedAt, 'settled before the abort although the backend hangs: the call must wait for the backend until its signal aborts');
      assert.ok(outcome.settled, `still pending ${settleLimitMs} ms after the signal aborted: pass ctx.signal on (ctx.http does) and stop your own timers and waits when it aborts`);
      assert.equal(outcome.ok, false, 'answered although the backend hangs');
      assert.ok(outcome.error instanceof UpstreamTimeoutError, `a deadline abort should surface as UpstreamTimeoutError, got ${describeError(outcome.error)}`);
    }
  });
}
