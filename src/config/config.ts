import { readEnvArea } from './env-area.ts';
import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { CONNECTOR_ENV_PREFIX } from '../modules/connectors/connector-config.ts';
import { parseCapabilityOwners } from './capability-owners-config.ts';
import { parseConnectorSettings } from './connector-settings-config.ts';
import { parseBotConfig, parseChatConfig } from './chat-config.ts';
import { parseDispatchConfig } from './dispatch-config.ts';
import { parseLineageConfig } from './lineage-config.ts';
import type { ApiKey, Config } from './config.types.ts';
import { parseTelemetryConfig } from './telemetry-config.ts';
import { parseWsConfig } from './ws-config.ts';

import { loadIdentityConfig } from './identity-config.ts';

export { CONNECTOR_ENV_PREFIX };

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_LOG_LEVEL = 'info';
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_REDIS_MEMORY_WARN_PERCENT = 80;
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 200;
/** The most gateway processes one host runs (`OMNIGATE_PROCESSES`, also what `auto` comes to on a bigger host). */
export const MAX_PROCESSES = 99;

/** `OMNIGATE_PROCESSES` as a count: `auto` is one per core this process may use, at most {@link MAX_PROCESSES}. */
export function processCountOf(setting: string, cores: number): number {
  return setting === 'auto' ? Math.max(1, Math.min(cores, MAX_PROCESSES)) : Number(setting);
}

export const DEFAULT_RATE_LIMIT_PER_KEY = 1_200;
export const DEFAULT_RATE_LIMIT_WINDOW_MS = 60_000;
export const DEFAULT_RATE_LIMIT_SYNC_MS = 100;
export const DEFAULT_BREAKER_SCOPE = 'omnigate';
export const DEFAULT_BREAKER_SYNC_MS = 200;
export const DEFAULT_STALE_TTL_MS = 24 * 60 * 60 * 1000;
/**
 * An identical answer is stored again only this long after this node last stored it. Each store is
 * a Redis round trip on the read path, and at 300 a second they were more than half of what the main
 * thread's scavenges promote (bench/README.md, "Results with the worker's own loop").
 */
export const DEFAULT_STALE_REWRITE_MS = 60_000;
export const DEFAULT_UPLOAD_LIMIT_BYTES = 5 * 1024 * 1024;
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
export const DEFAULT_RESTART_RESET_MS = 60_000;
export const DEFAULT_CONNECTOR_RETRY_MIN_MS = 2_000;
export const DEFAULT_HEALTH_CHECK_INTERVAL_MS = 30_000;
export const DEFAULT_CONNECTOR_RETRY_MAX_MS = 60_000;
export const DEFAULT_WORKER_HEAP_MB = 96;
export const DEFAULT_JOB_ATTEMPTS = 8;
export const DEFAULT_JOB_BACKOFF_MS = 500;
/** A left message's ticket outlasts a tickets backend down for minutes (about 20 to 35 at the default backoff). */
export const DEFAULT_MESSAGE_TICKET_ATTEMPTS = 40;
export const DEFAULT_JOB_LOCK_MS = 30_000;
export const DEFAULT_OUTBOX_BUCKETS = 16;
export const DEFAULT_OUTBOX_LEASE_MS = 10_000;
/** The outbox relay's safety poll: the bell wakes it for every event, this catches a lost ring. */
export const DEFAULT_OUTBOX_POLL_MS = 1_000;
export const DEFAULT_KAFKA_SESSION_TIMEOUT_MS = 10_000;
export const DEFAULT_SSE_MAX_PER_KEY = 100;
export const DEFAULT_SSE_MAX_BUFFER_BYTES = 256 * 1024;
export const DEFAULT_SSE_HEARTBEAT_MS = 15_000;
export const DEFAULT_SSE_LOG_RETENTION_MS = 10 * 60 * 1000;
export const DEFAULT_SSE_LOG_MAX_EVENTS = 100_000;
/** How often a node reads the dispatch numbers while supervisors watch GET /v1/queues/stream. */
export const DEFAULT_QUEUES_STREAM_INTERVAL_MS = 1_000;
/** How long a /metrics scrape waits for the dispatch numbers before leaving them out. */
export const DEFAULT_QUEUES_METRICS_TIMEOUT_MS = 1_000;
export const DEFAULT_WEBHOOK_MAX_PER_KEY = 100;
/** How often the built-in bot's product catalogue is read again through `product.list`. */
export const DEFAULT_BOT_CATALOGUE_REFRESH_MS = 300_000;
export const RESILIENCE_ENV_PREFIX = 'OMNIGATE_RESILIENCE_';

export type { ApiKey, Config } from './config.types.ts';

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

// Every key is named: a principal must not depend on the key's place in the list.
const KEYS_PATTERN = '^\\s*[A-Za-z0-9_-]+:[^,:\\s]{16,}\\s*(,\\s*[A-Za-z0-9_-]+:[^,:\\s]{16,}\\s*)*$';

const ENV_SCHEMA = {
  type: 'object',
  required: ['OMNIGATE_API_KEYS'],
  properties: {
    PORT: { type: 'integer', minimum: 0, maximum: 65535, default: DEFAULT_PORT },
    HOST: { type: 'string', minLength: 1, default: DEFAULT_HOST },
    LOG_LEVEL: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: DEFAULT_LOG_LEVEL },
    OMNIGATE_API_KEYS: { type: 'string', pattern: KEYS_PATTERN },
    OMNIGATE_ADMIN_KEYS: { type: 'string', pattern: KEYS_PATTERN },
    OMNIGATE_UPLOAD_LIMIT_BYTES: { type: 'integer', minimum: 1024, maximum: 100 * 1024 * 1024, default: DEFAULT_UPLOAD_LIMIT_BYTES },
    OMNIGATE_AUDIT_FILE: { type: 'string', minLength: 1 },
    OMNIGATE_WATCH_CONNECTORS: { type: 'boolean', default: false },
    OMNIGATE_DRAIN_TIMEOUT_MS: { type: 'integer', minimum: 0, maximum: 600_000, default: DEFAULT_DRAIN_TIMEOUT_MS },
    OMNIGATE_RESTART_RESET_MS: { type: 'integer', minimum: 10, maximum: 86_400_000, default: DEFAULT_RESTART_RESET_MS },
    OMNIGATE_CONNECTOR_RETRY_MIN_MS: { type: 'integer', minimum: 4, maximum: 3_600_000, default: DEFAULT_CONNECTOR_RETRY_MIN_MS },
    OMNIGATE_CONNECTOR_RETRY_MAX_MS: { type: 'integer', minimum: 4, maximum: 3_600_000, default: DEFAULT_CONNECTOR_RETRY_MAX_MS },
    OMNIGATE_HEALTH_CHECK_INTERVAL_MS: { type: 'integer', minimum: 0, maximum: 3_600_000, default: DEFAULT_HEALTH_CHECK_INTERVAL_MS },
    OMNIGATE_WORKER_HEAP_MB: { type: 'integer', minimum: 16, maximum: 4096, default: DEFAULT_WORKER_HEAP_MB },
    OMNIGATE_CONNECTORS_DIR: { type: 'string', minLength: 1 },
    OMNIGATE_PACKAGE_STORE_DIR: { type: 'string', minLength: 1 },
    OMNIGATE_BODY_LIMIT_BYTES: { type: 'integer', minimum: 1024, maximum: 16 * 1024 * 1024, default: DEFAULT_BODY_LIMIT_BYTES },
    OMNIGATE_CALL_TIMEOUT_MS: { type: 'integer', minimum: 10, maximum: 300_000, default: DEFAULT_CALL_TIMEOUT_MS },
    OMNIGATE_SHUTDOWN_GRACE_MS: { type: 'integer', minimum: 0, maximum: 300_000, default: DEFAULT_SHUTDOWN_GRACE_MS },
    REDIS_URL: { type: 'string', pattern: '^rediss?://', default: DEFAULT_REDIS_URL },
    REDIS_CACHE_URL: { type: 'string', pattern: '^rediss?://' },
    OMNIGATE_REDIS_MEMORY_WARN_PERCENT: { type: 'integer', minimum: 1, maximum: 100, default: DEFAULT_REDIS_MEMORY_WARN_PERCENT },
    OMNIGATE_REDIS_COMMAND_TIMEOUT_MS: { type: 'integer', minimum: 10, maximum: 60_000, default: DEFAULT_REDIS_COMMAND_TIMEOUT_MS },
    KAFKA_BROKERS: { type: 'string', pattern: '^\\s*[A-Za-z0-9.-]+:\\d+\\s*(,\\s*[A-Za-z0-9.-]+:\\d+\\s*)*$' },
    NODE_ID: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
    OMNIGATE_PROCESSES: { type: 'string', pattern: '^(auto|[1-9][0-9]?)$', default: '1' },
    // Set by the primary process for each process it starts (docs/scaling.md, "Several processes per host").
    OMNIGATE_PROCESS_INDEX: { type: 'integer', minimum: 0, maximum: MAX_PROCESSES - 1 },
    OMNIGATE_OUTBOX_BATCH: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 },
    OMNIGATE_OUTBOX_BUCKETS: { type: 'integer', minimum: 1, maximum: 1_024, default: DEFAULT_OUTBOX_BUCKETS },
    OMNIGATE_OUTBOX_LEASE_MS: { type: 'integer', minimum: 500, maximum: 600_000, default: DEFAULT_OUTBOX_LEASE_MS },
    OMNIGATE_OUTBOX_POLL_MS: { type: 'integer', minimum: 10, maximum: 60_000, default: DEFAULT_OUTBOX_POLL_MS },
    OMNIGATE_KAFKA_SESSION_TIMEOUT_MS: { type: 'integer', minimum: 1_000, maximum: 300_000, default: DEFAULT_KAFKA_SESSION_TIMEOUT_MS },
    OMNIGATE_EVENT_POLLING: { type: 'boolean', default: true },
    OMNIGATE_RATE_LIMIT_PER_KEY: { type: 'integer', minimum: 1, maximum: 100_000_000, default: DEFAULT_RATE_LIMIT_PER_KEY },
    OMNIGATE_RATE_LIMIT_WINDOW_MS: { type: 'integer', minimum: 100, maximum: 86_400_000, default: DEFAULT_RATE_LIMIT_WINDOW_MS },
    OMNIGATE_RATE_LIMIT_SYNC_MS: { type: 'integer', minimum: 10, maximum: 10_000, default: DEFAULT_RATE_LIMIT_SYNC_MS },
    OMNIGATE_BREAKER_SHARED: { type: 'boolean', default: true },
    OMNIGATE_BREAKER_SCOPE: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$', default: DEFAULT_BREAKER_SCOPE },
    OMNIGATE_BREAKER_SYNC_MS: { type: 'integer', minimum: 10, maximum: 1_000, default: DEFAULT_BREAKER_SYNC_MS },
    OMNIGATE_STALE_TTL_MS: { type: 'integer', minimum: 1_000, maximum: 30 * 86_400_000, default: DEFAULT_STALE_TTL_MS },
    OMNIGATE_STALE_REWRITE_MS: { type: 'integer', minimum: 0, maximum: 86_400_000, default: DEFAULT_STALE_REWRITE_MS },
    OMNIGATE_JOB_ATTEMPTS: { type: 'integer', minimum: 1, maximum: 100, default: DEFAULT_JOB_ATTEMPTS },
    OMNIGATE_JOB_BACKOFF_MS: { type: 'integer', minimum: 10, maximum: 600_000, default: DEFAULT_JOB_BACKOFF_MS },
    OMNIGATE_MESSAGE_TICKET_ATTEMPTS: { type: 'integer', minimum: 1, maximum: 1000, default: DEFAULT_MESSAGE_TICKET_ATTEMPTS },
    OMNIGATE_JOB_LOCK_MS: { type: 'integer', minimum: 500, maximum: 600_000, default: DEFAULT_JOB_LOCK_MS },
    OMNIGATE_WEBHOOK_ALLOW_PRIVATE: { type: 'boolean', default: false },
    OMNIGATE_WEBHOOK_MAX_PER_KEY: { type: 'integer', minimum: 1, maximum: 100_000, default: DEFAULT_WEBHOOK_MAX_PER_KEY },
    OMNIGATE_SSE_MAX_PER_KEY: { type: 'integer', minimum: 1, maximum: 100_000, default: DEFAULT_SSE_MAX_PER_KEY },
    OMNIGATE_SSE_MAX_BUFFER_BYTES: { type: 'integer', minimum: 4096, maximum: 64 * 1024 * 1024, default: DEFAULT_SSE_MAX_BUFFER_BYTES },
    OMNIGATE_SSE_HEARTBEAT_MS: { type: 'integer', minimum: 100, maximum: 600_000, default: DEFAULT_SSE_HEARTBEAT_MS },
    OMNIGATE_SSE_LOG_RETENTION_MS: { type: 'integer', minimum: 1_000, maximum: 7 * 86_400_000, default: DEFAULT_SSE_LOG_RETENTION_MS },
    OMNIGATE_SSE_LOG_MAX_EVENTS: { type: 'integer', minimum: 100, maximum: 100_000_000, default: DEFAULT_SSE_LOG_MAX_EVENTS },
    OMNIGATE_QUEUES_STREAM_INTERVAL_MS: { type: 'integer', minimum: 10, maximum: 600_000, default: DEFAULT_QUEUES_STREAM_INTERVAL_MS },
    OMNIGATE_QUEUES_METRICS_TIMEOUT_MS: { type: 'integer', minimum: 10, maximum: 60_000, default: DEFAULT_QUEUES_METRICS_TIMEOUT_MS },
    OMNIGATE_BOT_CATALOGUE_REFRESH_MS: { type: 'integer', minimum: 10, maximum: 86_400_000, default: DEFAULT_BOT_CATALOGUE_REFRESH_MS },
  },
} as const;

const ENV_MESSAGES: Readonly<Record<string, string>> = {
  OMNIGATE_API_KEYS: 'must be a comma-separated list of name:key pairs (name: letters, digits, _ and -; key: at least 16 characters)',
  OMNIGATE_ADMIN_KEYS: 'must be a comma-separated list of name:key pairs (name: letters, digits, _ and -; key: at least 16 characters)',
};

/** Reads and checks the environment once; lists every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv, rootDir: string): Config {
  const { raw, problems } = readEnvArea(env, ENV_SCHEMA, ENV_MESSAGES);
  const ws = parseWsConfig(env);
  const identity = loadIdentityConfig(env, rootDir);
  const chat = parseChatConfig(env);
  const bot = parseBotConfig(env, rootDir);
  const dispatch = parseDispatchConfig(env, rootDir);
  const lineage = parseLineageConfig(env);
  const telemetry = parseTelemetryConfig(env);
  const owners = parseCapabilityOwners(env);
  const connectorSettings = parseConnectorSettings(env);
  if (problems.length > 0 || !ws.config || chat.problems || bot.problems || dispatch.problems || lineage.problems || !telemetry.config || owners.problems || connectorSettings.problems) {
    throw new ConfigError([...new Set([...problems, ...ws.problems, ...identity.problems, ...(chat.problems ?? []), ...(bot.problems ?? []), ...(dispatch.problems ?? []), ...(lineage.problems ?? []), ...telemetry.problems, ...(owners.problems ?? []), ...(connectorSettings.problems ?? [])])]);
  }
  const apiKeys = parseKeys(String(raw.OMNIGATE_API_KEYS));
  const adminKeys = raw.OMNIGATE_ADMIN_KEYS === undefined ? [] : parseKeys(String(raw.OMNIGATE_ADMIN_KEYS));
  const keyProblems = [...repeatedKeys(apiKeys, 'OMNIGATE_API_KEYS'), ...repeatedKeys(adminKeys, 'OMNIGATE_ADMIN_KEYS')];
  const shared = adminKeys.filter((a) => apiKeys.some((k) => k.key === a.key));
  if (shared.length > 0) keyProblems.push(`OMNIGATE_ADMIN_KEYS must not repeat a key of OMNIGATE_API_KEYS (${shared.map((k) => k.name).join(', ')})`);
  const bothNames = [...new Set(adminKeys.filter((a) => apiKeys.some((k) => k.name === a.name)).map((k) => k.name))];
  if (bothNames.length > 0) keyProblems.push(`a name must not be both an API key and an admin key (${bothNames.join(', ')})`);
  keyProblems.push(...identity.problems);
  if (keyProblems.length > 0 || identity.config === undefined) throw new ConfigError(keyProblems);

  const processIndex = raw.OMNIGATE_PROCESS_INDEX as number | undefined;
  const processCount = processCountOf(raw.OMNIGATE_PROCESSES as string, availableParallelism());
  return Object.freeze({
    port: raw.PORT as number,
    host: raw.HOST as string,
    logLevel: raw.LOG_LEVEL as Config['logLevel'],
    apiKeys: Object.freeze(apiKeys),
    adminKeys: Object.freeze(adminKeys),
    uploadLimitBytes: raw.OMNIGATE_UPLOAD_LIMIT_BYTES as number,
    auditFile: resolve(rootDir, (raw.OMNIGATE_AUDIT_FILE as string | undefined) ?? '.data/audit.jsonl'),
    watchConnectors: raw.OMNIGATE_WATCH_CONNECTORS as boolean,
    drainTimeoutMs: raw.OMNIGATE_DRAIN_TIMEOUT_MS as number,
    restartResetMs: raw.OMNIGATE_RESTART_RESET_MS as number,
    connectorRetryMinMs: raw.OMNIGATE_CONNECTOR_RETRY_MIN_MS as number,
    connectorRetryMaxMs: raw.OMNIGATE_CONNECTOR_RETRY_MAX_MS as number,
    healthCheckIntervalMs: raw.OMNIGATE_HEALTH_CHECK_INTERVAL_MS as number,
    workerHeapMb: raw.OMNIGATE_WORKER_HEAP_MB as number,
    connectorsDir: resolve(rootDir, (raw.OMNIGATE_CONNECTORS_DIR as string | undefined) ?? 'connectors'),
    // One store per process: the processes of a host install the same packages at the same time.
    connectorStoreDir: resolve(rootDir, (raw.OMNIGATE_PACKAGE_STORE_DIR as string | undefined) ?? '.data/connector-store', processIndex === undefined ? '.' : `p${processIndex}`),
    bodyLimitBytes: raw.OMNIGATE_BODY_LIMIT_BYTES as number,
    callTimeoutMs: raw.OMNIGATE_CALL_TIMEOUT_MS as number,
    shutdownGraceMs: raw.OMNIGATE_SHUTDOWN_GRACE_MS as number,
    redisUrl: raw.REDIS_URL as string,
    redisCacheUrl: (raw.REDIS_CACHE_URL as string | undefined) ?? (raw.REDIS_URL as string),
    redisMemoryWarnPercent: raw.OMNIGATE_REDIS_MEMORY_WARN_PERCENT as number,
    redisCommandTimeoutMs: raw.OMNIGATE_REDIS_COMMAND_TIMEOUT_MS as number,
    kafkaBrokers: Object.freeze(raw.KAFKA_BROKERS === undefined ? [] : String(raw.KAFKA_BROKERS).split(',').map((b) => b.trim())),
    // Two gateways on one host must not share a name (nor a command consumer group); the port
    // tells them apart and stays the same across restarts (an ephemeral port cannot: the pid then).
    // Each process of a host is a node of its own, with a stable id: the host's, and its index.
    nodeId: `${(raw.NODE_ID as string | undefined) ?? `${hostname()}-${(raw.PORT as number) || process.pid}`}${processIndex === undefined ? '' : `-p${processIndex}`}`,
    processes: Object.freeze({ count: processCount, ...(processIndex === undefined ? {} : { index: processIndex }) }),
    outboxBatch: raw.OMNIGATE_OUTBOX_BATCH as number,
    outboxBuckets: raw.OMNIGATE_OUTBOX_BUCKETS as number,
    outboxLeaseMs: raw.OMNIGATE_OUTBOX_LEASE_MS as number,
    outboxPollMs: raw.OMNIGATE_OUTBOX_POLL_MS as number,
    kafkaSessionTimeoutMs: raw.OMNIGATE_KAFKA_SESSION_TIMEOUT_MS as number,
    eventPolling: raw.OMNIGATE_EVENT_POLLING as boolean,
    rateLimitPerKey: raw.OMNIGATE_RATE_LIMIT_PER_KEY as number,
    rateLimitWindowMs: raw.OMNIGATE_RATE_LIMIT_WINDOW_MS as number,
    rateLimitSyncMs: raw.OMNIGATE_RATE_LIMIT_SYNC_MS as number,
    breakers: Object.freeze({ shared: raw.OMNIGATE_BREAKER_SHARED as boolean, scope: raw.OMNIGATE_BREAKER_SCOPE as string, syncMs: raw.OMNIGATE_BREAKER_SYNC_MS as number }),
    staleTtlMs: raw.OMNIGATE_STALE_TTL_MS as number,
    staleRewriteMs: raw.OMNIGATE_STALE_REWRITE_MS as number,
    jobAttempts: raw.OMNIGATE_JOB_ATTEMPTS as number,
    jobBackoffMs: raw.OMNIGATE_JOB_BACKOFF_MS as number,
    messageTicketAttempts: raw.OMNIGATE_MESSAGE_TICKET_ATTEMPTS as number,
    jobLockMs: raw.OMNIGATE_JOB_LOCK_MS as number,
    webhookAllowPrivate: raw.OMNIGATE_WEBHOOK_ALLOW_PRIVATE as boolean,
    webhookMaxPerKey: raw.OMNIGATE_WEBHOOK_MAX_PER_KEY as number,
    sseMaxPerKey: raw.OMNIGATE_SSE_MAX_PER_KEY as number,
    sseMaxBufferBytes: raw.OMNIGATE_SSE_MAX_BUFFER_BYTES as number,
    sseHeartbeatMs: raw.OMNIGATE_SSE_HEARTBEAT_MS as number,
    sseLog: Object.freeze({ retentionMs: raw.OMNIGATE_SSE_LOG_RETENTION_MS as number, maxEvents: raw.OMNIGATE_SSE_LOG_MAX_EVENTS as number }),
    queuesStreamIntervalMs: raw.OMNIGATE_QUEUES_STREAM_INTERVAL_MS as number,
    queuesMetricsTimeoutMs: raw.OMNIGATE_QUEUES_METRICS_TIMEOUT_MS as number,
    botCatalogueRefreshMs: raw.OMNIGATE_BOT_CATALOGUE_REFRESH_MS as number,
    ws: ws.config,
    connectorEnv: Object.freeze(envWithPrefix(env, CONNECTOR_ENV_PREFIX)),
    resilienceEnv: Object.freeze(envWithPrefix(env, RESILIENCE_ENV_PREFIX)),
    capabilityOwners: owners.config,
    connectorSettings: connectorSettings.config,
    identity: identity.config,
    chat: chat.config,
    bot: bot.config,
    dispatch: dispatch.config,
    lineage: lineage.config,
    telemetry: telemetry.config,
  });
}

/** `alice:key1, alice:key2, bob:key3` → named keys; one name may hold several keys (rotation). */
function parseKeys(list: string): ApiKey[] {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .map((entry) => {
      const colon = entry.indexOf(':');
      return { name: entry.slice(0, colon), key: entry.slice(colon + 1) };
    });
}

/** A key listed twice would be two principals (or one by accident): named, never shown. */
function repeatedKeys(keys: readonly ApiKey[], variable: string): string[] {
  const namesByKey = new Map<string, string[]>();
  for (const { name, key } of keys) namesByKey.set(key, [...(namesByKey.get(key) ?? []), name]);
  return [...namesByKey.values()].filter((names) => names.length > 1).map((names) => `${variable} lists the same key twice (${names.join(', ')})`);
}

/** The variables that start with `prefix`, keyed by the rest of their name. */
function envWithPrefix(env: NodeJS.ProcessEnv, prefix: string): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith(prefix) && value !== undefined) settings[name.slice(prefix.length)] = value;
  }
  return settings;
}
