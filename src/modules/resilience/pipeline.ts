import CircuitBreaker from 'opossum';
import { untilAborted } from '../../kernel/abort.ts';
import { AppError, countsAgainstBreaker, isAppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import { DeadlineExceeded } from '../../sdk/http-client.ts';
import type { Metrics } from '../observability/metrics.ts';
import { BREAKER_STATE_VALUE } from '../observability/metrics.ts';
import type { RateLimiter } from '../../ports/rate-limiter.ts';
import { createBulkhead, type Bulkhead } from './bulkhead.ts';
import { createRetryBudget, isRetryable, retryDelayMs, sleep, type RetryBudget } from './retry.ts';
import type { ResilienceSettings } from './settings.ts';
import type { SharedBreaker, SharedBreakers } from './shared-breakers.ts';

export type BreakerState = keyof typeof BREAKER_STATE_VALUE;

/** One call through the pipeline. `run` is the attempt: connector call and result check. */
export interface PipelineCall<T> {
  readonly connector: string;
  readonly capability: string;
  /** Only queries (and polls) are retried. */
  readonly kind: 'query' | 'command' | 'webhook' | 'poll';
  /** The limit this call counts against; by default the backend's own (`connector:<name>`, rateLimitPerSec). */
  readonly rateLimit?: { readonly key: string; readonly perSec: number };
  readonly settings: ResilienceSettings;
  /** The caller's signal (client gone). */
  readonly signal?: AbortSignal;
  readonly log: Logger;
  run(signal: AbortSignal): Promise<T>;
}

export interface BreakerView {
  readonly capability: string;
  readonly state: BreakerState;
  readonly stats: { readonly calls: number; readonly successes: number; readonly failures: number; readonly rejects: number };
}

export interface ConnectorResilienceView {
  readonly breakers: readonly BreakerView[];
  readonly bulkhead: { readonly inUse: number; readonly queued: number; readonly maxConcurrent: number; readonly rejected: number };
}

/**
 * Refused at once if the breaker (per connector and capability) is open or the connector's rate
 * limit is spent → bulkhead → breaker with a deadline that aborts the call → retries of reads under
 * a budget, each counted against the rate limit. Connectors never see any of it.
 */
export interface ResiliencePipeline {
  execute<T>(call: PipelineCall<T>): Promise<T>;
  /** Breaker states and bulkhead use of one connector, for /v1/connectors. */
  view(connector: string): ConnectorResilienceView | undefined;
  /** Forgets a connector's breakers and bulkhead (on removal or reload). */
  forget(connector: string): void;
}

interface ConnectorResources {
  readonly settings: ResilienceSettings;
  readonly bulkhead: Bulkhead;
  readonly budget: RetryBudget;
  readonly breakers: Map<string, { readonly local: CircuitBreaker<[() => Promise<unknown>], unknown>; readonly shared?: SharedBreaker }>;
}

/** opossum's error filter: true means "count this as a success". Which codes count is a column of the catalogue. */
export function ignoredByBreaker(err: unknown, halfOpen: boolean): boolean {
  // An abandoned half-open trial must not close the breaker: the backend proved nothing.
  return !countsAgainstBreaker(err) && !(halfOpen && isAppError(err) && err.extensions.abandoned === true);
}

export function createResiliencePipeline(deps: {
  log: Logger;
  metrics: Metrics;
  limiter: RateLimiter;
  /** The cluster's side of every breaker; without it each breaker decides on this node's calls alone. */
  shared?: SharedBreakers;
  /** Told of every breaker transition (the gateway publishes it as an event). */
  onBreakerChange?: (change: { connector: string; capability: string; state: BreakerState }) => void;
}): ResiliencePipeline {
  const { metrics, limiter } = deps;
  const log = deps.log.child({ module: 'resilience' });
  const resources = new Map<string, ConnectorResources>();

  function resourcesFor(connector: string, settings: ResilienceSettings): ConnectorResources {
    let found = resources.get(connector);
    if (!found || found.settings !== settings) {
      found = {
        settings,
        bulkhead: createBulkhead({ connector, maxConcurrent: settings.maxConcurrent, maxQueue: settings.maxQueue, maxWaitMs: settings.maxWaitMs }),
        budget: createRetryBudget({ percent: settings.retryBudgetPercent, minPerSec: settings.retryBudgetMinPerSec }),
        breakers: new Map(),
      };
      resources.set(connector, found);
    }
    return found;
  }

  function breakerFor(connector: string, capability: string, own: ConnectorResources) {
    const found = own.breakers.get(capability);
    if (found) return found;
    const { settings } = own;
    // opossum counts a filtered error as a success; an abandoned half-open trial must not close
    // the breaker, so while half-open it counts as a failure (the backend proved nothing).
    let self: CircuitBreaker | undefined;
    const breaker = new CircuitBreaker((attempt: () => Promise<unknown>) => attempt(), {
      timeout: false, // the pipeline's own deadline aborts the call; opossum's would only stop waiting
      errorThresholdPercentage: settings.errorThresholdPercentage,
      volumeThreshold: settings.volumeThreshold,
      resetTimeout: settings.resetTimeoutMs,
      rollingCountTimeout: settings.rollingWindowMs,
      rollingCountBuckets: 10,
      errorFilter: (err: unknown) => ignoredByBreaker(err, self?.halfOpen === true),
      name: `${connector}:${capability}`,
    });
    self = breaker;
    const labels = { connector, capability };
    metrics.breakerState.set(labels, BREAKER_STATE_VALUE.closed);
    // Whose decision a transition is: this node's calls, or the cluster's state (shared-breakers.ts).
    let cause: 'node' | 'cluster' = 'node';
    const transition = (state: BreakerState) => () => {
      metrics.breakerState.set(labels, BREAKER_STATE_VALUE[state]);
      metrics.breakerTransitions.inc({ ...labels, to: state });
      log.warn({ connector, capability, state, cause }, 'breaker state changed');
      deps.onBreakerChange?.({ connector, capability, state });
      if (state === 'open' && cause === 'node') void deps.shared?.sync();
    };
    breaker.on('open', transition('open'));
    breaker.on('halfOpen', transition('halfOpen'));
    breaker.on('close', transition('closed'));
    const byCluster = (change: () => void) => () => {
      cause = 'cluster';
      try {
        change();
      } finally {
        cause = 'node';
      }
    };
    const shared = deps.shared?.join(connector, capability, settings, { open: byCluster(() => breaker.open()), close: byCluster(() => breaker.close()), get closed() { return breaker.closed; } });
    if (shared) {
      breaker.on('success', () => shared.record(false));
      breaker.on('failure', () => shared.record(true));
    }
    const entry = { local: breaker, ...(shared ? { shared } : {}) };
    own.breakers.set(capability, entry);
    return entry;
  }

  return {
    async execute<T>(call: PipelineCall<T>): Promise<T> {
      const { connector, capability, settings } = call;
      const own = resourcesFor(connector, settings);
      const labels = { connector, capability };
      const limit = call.rateLimit ?? { key: `connector:${connector}`, perSec: settings.rateLimitPerSec };
      const overLimit = (retryAfterMs: number): AppError => {
        metrics.rateLimited.inc({ scope: 'connector' });
        return new AppError('RATE_LIMITED', `connector ${connector} is at its rate limit of ${limit.perSec} calls per second`, { connector, retryAfterMs });
      };
      const { local: breaker, shared } = breakerFor(connector, capability, own);
      const circuitOpen = () => new AppError('CIRCUIT_OPEN', `calls to ${connector} for ${capability} are paused: its backend has been failing`, { connector, retryAfterMs: settings.resetTimeoutMs });
      const observe = (outcome: string, seconds: number): void => {
        metrics.connectorCalls.inc({ ...labels, outcome });
        metrics.connectorDuration.observe({ ...labels, outcome }, seconds);
      };
      /** A refusal decided before the bulkhead: counted as a call with its outcome, at no duration. */
      const refusedEarly = (error: AppError): AppError => {
        observe(error.code, 0);
        return error;
      };
      // Open and not yet due for its trial: opossum would refuse the call. Refused here, counted as
      // opossum counts its own refusals, before the bulkhead slot, the deadline's timer and the
      // stack of opossum's error (the profile of a stream of refusals, bench/README.md).
      if (!breaker.closed && !breaker.pendingClose) {
        breaker.emit('fire', []);
        breaker.emit('reject', OPEN_BREAKER);
        throw refusedEarly(circuitOpen());
      }
      // The first attempt is counted against the backend's limit before it may take a bulkhead slot:
      // a flood the limit refuses (anyone may post a webhook, without a key) cannot crowd out the
      // connector's other calls, and a refusal costs no slot, timer or breaker call. Retries are
      // counted as they go (below).
      const first = await limiter.consume(limit.key, limit.perSec, 1000);
      if (!first.allowed) throw refusedEarly(overLimit(first.retryAfterMs));

      let release: () => void;
      try {
        release = await own.bulkhead.acquire(call.signal);
      } catch (err) {
        if (isAppError(err) && err.code === 'CONNECTOR_SATURATED') metrics.bulkheadRejected.inc({ connector });
        throw err;
      }
      metrics.bulkheadInUse.set({ connector }, own.bulkhead.inUse);
      metrics.bulkheadQueued.set({ connector }, own.bulkhead.queued);

      // One controller for the deadline and the caller leaving, whichever comes first (its reason
      // says which): a composite AbortSignal.any per call cost more than this in the profile.
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(new DeadlineExceeded(settings.timeoutMs)), settings.timeoutMs);
      const callerLeft = () => deadline.abort(call.signal?.reason);
      if (call.signal?.aborted) callerLeft();
      else call.signal?.addEventListener('abort', callerLeft, { once: true });
      const { signal } = deadline;
      const started = performance.now();
      const elapsedSeconds = (): number => (performance.now() - started) / 1000;
      let admission: Awaited<ReturnType<SharedBreaker['admit']>> = 'pass';
      try {
        if (shared) {
          const asked = shared.admit(breaker.closed || breaker.pendingClose);
          admission = typeof asked === 'string' ? asked : await asked;
          if (admission === 'refuse') throw Object.assign(new Error('the cluster\'s breaker is open'), { code: 'EOPENBREAKER' });
        }
        const attempts = async (): Promise<T> => {
          own.budget.deposit();
          let lastError: unknown;
          for (let attempt = 0; ; attempt++) {
            // The backend's own limit counts the calls that would really reach it, retries included.
            const allowance = attempt === 0 ? first : await limiter.consume(limit.key, limit.perSec, 1000);
            // A retry the limit refuses ends with the real failure, which the breaker must count.
            if (!allowance.allowed) throw lastError;
            try {
              return await untilAborted(call.run(signal), signal, (reason) => timeoutOr(reason, undefined, connector));
            } catch (err) {
              lastError = err;
              const canRetry = (call.kind === 'query' || call.kind === 'poll') && attempt < settings.retries && isRetryable(err) && !signal.aborted;
              if (!canRetry) throw err;
              if (!own.budget.tryWithdraw()) {
                metrics.retryBudgetExhausted.inc({ connector });
                throw err;
              }
              const delay = retryDelayMs(attempt + 1, err, { baseMs: settings.retryBaseMs, maxDelayMs: settings.retryMaxDelayMs, retryAfterCapMs: settings.retryAfterCapMs });
              metrics.retries.inc(labels);
              call.log.info({ connector, capability, attempt: attempt + 1, delayMs: delay, code: isAppError(err) ? err.code : undefined }, 'retrying read');
              await sleep(delay, signal).catch((reason: unknown) => {
                throw timeoutOr(reason, err, connector);
              });
            }
          }
        };
        const value = (await breaker.fire(attempts)) as T;
        if (admission === 'trial') await shared?.settleTrial(true);
        observe('ok', elapsedSeconds());
        return value;
      } catch (err) {
        if (admission === 'trial') await shared?.settleTrial(ignoredByBreaker(err, true));
        const error = (err as { code?: string }).code === 'EOPENBREAKER' ? circuitOpen() : err;
        observe(outcomeOf(error), elapsedSeconds());
        throw error;
      } finally {
        clearTimeout(timer);
        call.signal?.removeEventListener('abort', callerLeft);
        release();
        metrics.bulkheadInUse.set({ connector }, own.bulkhead.inUse);
        metrics.bulkheadQueued.set({ connector }, own.bulkhead.queued);
      }
    },

    view(connector) {
      const own = resources.get(connector);
      if (!own) return undefined;
      return {
        breakers: [...own.breakers.entries()].map(([capability, { local: breaker, shared }]) => {
          const s = breaker.stats;
          // While the cluster's breaker is open this node's is too, or refuses for it.
          const cluster = shared?.clusterState();
          const mine: BreakerState = breaker.opened ? 'open' : breaker.halfOpen ? 'halfOpen' : 'closed';
          return {
            capability,
            state: cluster === 'open' || mine === 'open' ? 'open' : cluster ?? mine,
            stats: { calls: s.fires, successes: s.successes, failures: s.failures, rejects: s.rejects + (shared?.rejects ?? 0) },
          };
        }),
        bulkhead: { inUse: own.bulkhead.inUse, queued: own.bulkhead.queued, maxConcurrent: own.settings.maxConcurrent, rejected: own.bulkhead.rejected },
      };
    },

    forget(connector) {
      for (const { local } of resources.get(connector)?.breakers.values() ?? []) local.shutdown();
      deps.shared?.forget(connector);
      resources.delete(connector);
    },
  };
}

/** What opossum's 'reject' listeners get for a refusal the pipeline made itself (one error, no stack per call). */
const OPEN_BREAKER: Error = Object.assign(new Error('Breaker is open'), { code: 'EOPENBREAKER', stack: undefined });

/**
 * A failed call's `outcome` label: its error code, or `abandoned` when its caller left (that says
 * nothing of the backend, and an alert on UPSTREAM_UNAVAILABLE would fire whenever clients disconnect).
 */
function outcomeOf(error: unknown): string {
  if (!isAppError(error)) return 'INTERNAL';
  return error.extensions.abandoned === true ? 'abandoned' : error.code;
}

/** The error for an aborted call: a timeout if the deadline passed, else the caller left. */
function timeoutOr(reason: unknown, previous: unknown, connector: string): AppError {
  if (reason instanceof DeadlineExceeded) {
    return new AppError('UPSTREAM_TIMEOUT', `connector ${connector} did not answer within ${reason.timeoutMs} ms`, { connector }, { cause: previous ?? reason });
  }
  return new AppError('UPSTREAM_UNAVAILABLE', `the call to ${connector} was abandoned: the caller went away`, { connector, abandoned: true }, { cause: reason });
}
