import type { Ajv2020 } from 'ajv/dist/2020.js';
import { toIssues } from '../../kernel/schemas.ts';
import { envPrefixFor } from '../connectors/connector-config.ts';

export const DEFAULT_ERROR_THRESHOLD_PERCENTAGE = 50;
export const DEFAULT_VOLUME_THRESHOLD = 10;
export const DEFAULT_BREAKER_RESET_MS = 10_000;
export const DEFAULT_ROLLING_WINDOW_MS = 10_000;
export const DEFAULT_MAX_CONCURRENT = 32;
export const DEFAULT_MAX_QUEUE = 32;
export const DEFAULT_MAX_WAIT_MS = 250;
export const DEFAULT_RETRIES = 2;
export const DEFAULT_RETRY_BASE_MS = 50;
export const DEFAULT_RETRY_MAX_DELAY_MS = 1_000;
export const DEFAULT_RETRY_AFTER_CAP_MS = 2_000;
export const DEFAULT_RETRY_BUDGET_PERCENT = 20;
export const DEFAULT_RETRY_BUDGET_MIN_PER_SEC = 5;
export const DEFAULT_CONNECTOR_RATE_LIMIT_PER_SEC = 500;
export const DEFAULT_INBOUND_RATE_LIMIT_PER_SEC = 100;

/**
 * How the core protects one connector's backend. Set per connector as
 * `OMNIGATE_RESILIENCE_<CONNECTOR>_<FIELD>` (e.g. `OMNIGATE_RESILIENCE_ORDERS_JAVA_TIMEOUT_MS`).
 */
export interface ResilienceSettings {
  /** Deadline of one call, retries included; the abort reaches the HTTP request. Default OMNIGATE_CALL_TIMEOUT_MS. */
  readonly timeoutMs: number;
  /** Failure percentage in the rolling window that opens the breaker. */
  readonly errorThresholdPercentage: number;
  /** Calls in the rolling window before the breaker may open at all. */
  readonly volumeThreshold: number;
  /** How long an open breaker waits before letting one trial call through (half-open). */
  readonly resetTimeoutMs: number;
  /** The window the breaker counts failures in. */
  readonly rollingWindowMs: number;
  /** Calls in flight to this connector at most (bulkhead). */
  readonly maxConcurrent: number;
  /** Calls waiting for a slot at most; beyond, an immediate 503 CONNECTOR_SATURATED. */
  readonly maxQueue: number;
  /** How long a call waits for a slot before 503 CONNECTOR_SATURATED. */
  readonly maxWaitMs: number;
  /** Retries of an idempotent read after the first attempt. Writes never retry. */
  readonly retries: number;
  /** First backoff; doubles each retry, with full jitter. */
  readonly retryBaseMs: number;
  readonly retryMaxDelayMs: number;
  /** A backend's Retry-After is honoured up to this. */
  readonly retryAfterCapMs: number;
  /** Retries may add at most this percentage to the calls made (retry budget)… */
  readonly retryBudgetPercent: number;
  /** …plus this many retries per second, so a quiet connector can still retry. */
  readonly retryBudgetMinPerSec: number;
  /** Calls per second to the backend, across all gateway nodes (shared through Redis). */
  readonly rateLimitPerSec: number;
  /** Webhook deliveries per second the backend may send this connector, across all gateway nodes. */
  readonly inboundRateLimitPerSec: number;
}

const int = (minimum: number, maximum: number, defaultValue: number) => ({ type: 'integer', minimum, maximum, default: defaultValue });

export function settingsSchema(defaultTimeoutMs: number) {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      timeoutMs: int(10, 300_000, defaultTimeoutMs),
      errorThresholdPercentage: int(1, 100, DEFAULT_ERROR_THRESHOLD_PERCENTAGE),
      volumeThreshold: int(1, 100_000, DEFAULT_VOLUME_THRESHOLD),
      resetTimeoutMs: int(10, 3_600_000, DEFAULT_BREAKER_RESET_MS),
      rollingWindowMs: int(100, 3_600_000, DEFAULT_ROLLING_WINDOW_MS),
      maxConcurrent: int(1, 10_000, DEFAULT_MAX_CONCURRENT),
      maxQueue: int(0, 100_000, DEFAULT_MAX_QUEUE),
      maxWaitMs: int(0, 60_000, DEFAULT_MAX_WAIT_MS),
      retries: int(0, 10, DEFAULT_RETRIES),
      retryBaseMs: int(1, 60_000, DEFAULT_RETRY_BASE_MS),
      retryMaxDelayMs: int(1, 60_000, DEFAULT_RETRY_MAX_DELAY_MS),
      retryAfterCapMs: int(0, 300_000, DEFAULT_RETRY_AFTER_CAP_MS),
      retryBudgetPercent: int(0, 100, DEFAULT_RETRY_BUDGET_PERCENT),
      retryBudgetMinPerSec: int(0, 10_000, DEFAULT_RETRY_BUDGET_MIN_PER_SEC),
      rateLimitPerSec: int(1, 1_000_000, DEFAULT_CONNECTOR_RATE_LIMIT_PER_SEC),
      inboundRateLimitPerSec: int(1, 1_000_000, DEFAULT_INBOUND_RATE_LIMIT_PER_SEC),
    },
  } as const;
}

const camel = (snake: string): string => snake.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A connector's settings from `OMNIGATE_RESILIENCE_<CONNECTOR>_*`, defaults filled; problems name the variable. */
export function resolveResilienceSettings(
  ajv: Ajv2020,
  connector: string,
  resilienceEnv: Readonly<Record<string, string>>,
  defaultTimeoutMs: number,
): { settings: ResilienceSettings; problems: string[] } {
  const prefix = envPrefixFor(connector);
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resilienceEnv)) if (key.startsWith(prefix)) raw[camel(key.slice(prefix.length))] = value;
  const validate = ajv.compile(settingsSchema(defaultTimeoutMs));
  const ok = validate(raw);
  const problems = ok
    ? []
    : toIssues(validate.errors).map((i) => `${i.message} (OMNIGATE_RESILIENCE_${prefix}${i.field.replace(/([A-Z])/g, '_$1').toUpperCase()})`);
  return { settings: raw as unknown as ResilienceSettings, problems };
}

/** Resolves (once) and hands out each connector's settings. */
export interface SettingsProvider {
  forConnector(connector: string): ResilienceSettings;
  /** Every problem with the settings of these connectors, for start-up. */
  problems(connectors: readonly string[]): string[];
}

export function createSettingsProvider(ajv: Ajv2020, resilienceEnv: Readonly<Record<string, string>>, defaultTimeoutMs: number, processes = 1): SettingsProvider {
  const cache = new Map<string, ResilienceSettings>();
  // The bulkhead is stated per host: each of its processes takes its share (at least one call).
  const share = (settings: ResilienceSettings): ResilienceSettings =>
    processes <= 1 ? settings : { ...settings, maxConcurrent: Math.max(1, Math.ceil(settings.maxConcurrent / processes)), maxQueue: Math.ceil(settings.maxQueue / processes) };
  const resolve = (connector: string) => {
    const resolved = resolveResilienceSettings(ajv, connector, resilienceEnv, defaultTimeoutMs);
    return { ...resolved, settings: share(resolved.settings) };
  };
  return {
    forConnector(connector) {
      let settings = cache.get(connector);
      if (!settings) {
        // Bad values were refused at start; a connector installed later gets the defaults for them.
        const resolved = resolve(connector);
        settings = resolved.problems.length === 0 ? resolved.settings : share(resolveResilienceSettings(ajv, connector, {}, defaultTimeoutMs).settings);
        cache.set(connector, settings);
      }
      return settings;
    },
    problems: (connectors) => connectors.flatMap((c) => resolve(c).problems),
  };
}
