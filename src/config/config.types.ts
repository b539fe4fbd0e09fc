import type { CapabilityOwners } from './capability-owners-config.ts';
import type { BotConfig, ChatConfig } from './chat-config.ts';
import type { TelemetryConfig } from './telemetry-config.ts';
import type { DispatchConfig } from './dispatch-config.ts';
import type { LineageConfig } from './lineage-config.ts';
import type { WsConfig } from './ws-config.ts';
import type { ConnectorSettingsConfig } from './connector-settings-config.ts';
import type { IdentityConfig } from './identity-config.ts';

/** The gateway's settings, parsed once from the environment and frozen. */
export interface Config {
  /** `PORT`: where the gateway listens. */
  readonly port: number;
  /** `HOST`: the address it binds; loopback unless said otherwise. */
  readonly host: string;
  /** `LOG_LEVEL`: pino level. */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * `OMNIGATE_API_KEYS`: comma-separated `name:key` pairs. The name is the principal (it owns jobs,
   * subscriptions, idempotency records, rate buckets); two keys may share a name (rotation). Secret.
   */
  readonly apiKeys: readonly ApiKey[];
  /** `OMNIGATE_ADMIN_KEYS`: keys for /v1/admin, same format, names distinct from the API keys'; none means the admin API refuses everyone. Secret. */
  readonly adminKeys: readonly ApiKey[];
  /** `OMNIGATE_UPLOAD_LIMIT_BYTES`: largest connector tarball accepted. */
  readonly uploadLimitBytes: number;
  /** `OMNIGATE_AUDIT_FILE`: the audit trail of lifecycle changes (JSON lines). */
  readonly auditFile: string;
  /** `OMNIGATE_WATCH_CONNECTORS`: reload a connector when its folder changes (development). */
  readonly watchConnectors: boolean;
  /** `OMNIGATE_DRAIN_TIMEOUT_MS`: how long a swap waits for calls on the old version. */
  readonly drainTimeoutMs: number;
  /** `OMNIGATE_RESTART_RESET_MS`: a restarted connector that stays healthy this long starts its restart backoff over. */
  readonly restartResetMs: number;
  /**
   * `OMNIGATE_CONNECTOR_RETRY_MIN_MS` / `_MAX_MS`: first and longest wait before a connector that
   * failed at start (auth, health) is tried again; a crashed worker's first restart waits a quarter of the first.
   */
  readonly connectorRetryMinMs: number;
  readonly connectorRetryMaxMs: number;
  /** `OMNIGATE_HEALTH_CHECK_INTERVAL_MS`: how often each ready connector's health() runs (0: only at load). */
  readonly healthCheckIntervalMs: number;
  /** `OMNIGATE_WORKER_HEAP_MB`: heap limit of each connector's worker thread. */
  readonly workerHeapMb: number;
  /** `OMNIGATE_CONNECTORS_DIR`: the folder of connector packages. */
  readonly connectorsDir: string;
  /**
   * `OMNIGATE_PACKAGE_STORE_DIR`: where every loaded connector version is kept, for rollback.
   * Must lie below the gateway's folder so that connectors resolve `omnigate/sdk`.
   */
  readonly connectorStoreDir: string;
  /** `OMNIGATE_BODY_LIMIT_BYTES`: largest request body accepted. */
  readonly bodyLimitBytes: number;
  /** `OMNIGATE_CALL_TIMEOUT_MS`: default deadline of one connector call, retries and abort included. */
  readonly callTimeoutMs: number;
  /**
   * `REDIS_URL`: the durable Redis (AOF, `noeviction`): outbox, event log, idempotency records,
   * jobs, webhook subscriptions, cursors, leases. Losing it degrades, never fails.
   */
  readonly redisUrl: string;
  /**
   * `REDIS_CACHE_URL`: the cache Redis (`allkeys-lru` under `maxmemory`): stale answers and
   * rate-limit buckets, so user-driven entries never crowd out the durable state. Default
   * `REDIS_URL` (one instance for both; the gateway warns at start).
   */
  readonly redisCacheUrl: string;
  /** `OMNIGATE_REDIS_MEMORY_WARN_PERCENT`: /readyz is degraded once the durable Redis uses this share of its maxmemory. */
  readonly redisMemoryWarnPercent: number;
  /** `OMNIGATE_REDIS_COMMAND_TIMEOUT_MS`: how long a command to a connected Redis may take before it fails (and the caller degrades). */
  readonly redisCommandTimeoutMs: number;
  /** `KAFKA_BROKERS`: comma-separated host:port; none means an in-process bus (one node, no Kafka). */
  readonly kafkaBrokers: readonly string[];
  /**
   * `NODE_ID`: this gateway node's name (its consumer group for cluster commands, its logs);
   * default `<host>-<PORT>`: unique on a host, stable across restarts.
   */
  readonly nodeId: string;
  /** `OMNIGATE_OUTBOX_BATCH`: events handed to Kafka per send. */
  readonly outboxBatch: number;
  /** `OMNIGATE_OUTBOX_BUCKETS`: outbox buckets, leased by the live nodes; the same on every node. */
  readonly outboxBuckets: number;
  /** `OMNIGATE_OUTBOX_LEASE_MS`: how long a node's lease on a bucket lasts unrenewed (a dead node's buckets move after it). */
  readonly outboxLeaseMs: number;
  /** `OMNIGATE_OUTBOX_POLL_MS`: how often the relay looks at its buckets when no ring told it of new events (a lost ring waits at most this). */
  readonly outboxPollMs: number;
  /** `OMNIGATE_KAFKA_SESSION_TIMEOUT_MS`: how long a consumer may be silent before the broker hands its partitions to the others. */
  readonly kafkaSessionTimeoutMs: number;
  /** `OMNIGATE_EVENT_POLLING`: poll connectors that have poll() (one node at a time). */
  readonly eventPolling: boolean;
  /** `OMNIGATE_RATE_LIMIT_PER_KEY`: requests per API key per window, across all nodes. */
  readonly rateLimitPerKey: number;
  /**
   * `OMNIGATE_PROCESSES`: how many gateway processes this host runs behind one port (`auto`: one
   * per core), and which of them this is (set by the primary; absent when the host runs one).
   */
  readonly processes: { readonly count: number; readonly index?: number };
  /** `OMNIGATE_RATE_LIMIT_WINDOW_MS`: the window of the per-key limit. */
  readonly rateLimitWindowMs: number;
  /**
   * `OMNIGATE_RATE_LIMIT_SYNC_MS`: how often a node sends its rate-limit counts to Redis and reads
   * the cluster's; between syncs it decides locally (docs/scaling.md, "Rate limits across nodes").
   */
  readonly rateLimitSyncMs: number;
  /** How breakers are shared across the nodes on one cache Redis (docs/scaling.md, "Breakers across nodes"). */
  readonly breakers: BreakerSharing;
  /** `OMNIGATE_STALE_TTL_MS`: how long a last good answer is kept for stale fallback. */
  readonly staleTtlMs: number;
  /**
   * `OMNIGATE_STALE_REWRITE_MS`: an answer identical to the one this node stored is stored again
   * only after this long (at most half the TTL); a stale answer's `storedAt` may be up to this much
   * older than the last time the backend gave it. 0 stores every answer.
   */
  readonly staleRewriteMs: number;
  /** `OMNIGATE_SHUTDOWN_GRACE_MS`: how long SIGTERM waits for in-flight requests (and then for running jobs). */
  readonly shutdownGraceMs: number;
  /** `OMNIGATE_JOB_ATTEMPTS`: attempts of a job (ticket creation, webhook delivery) before it is dead-lettered. */
  readonly jobAttempts: number;
  /** `OMNIGATE_JOB_BACKOFF_MS`: the first retry delay of a job; it doubles per attempt (with jitter, capped). */
  readonly jobBackoffMs: number;
  /**
   * `OMNIGATE_MESSAGE_TICKET_ATTEMPTS`: attempts of the job that makes a ticket of a message left in a
   * chat (same backoff as every job), so that it outlasts a tickets backend down for minutes.
   */
  readonly messageTicketAttempts: number;
  /**
   * `OMNIGATE_JOB_LOCK_MS`: a running job's lock; a job whose node died is taken up again within about
   * twice this. Nodes on one Redis should share it: BullMQ checks a queue for stalled jobs once per
   * interval across all nodes, at the pace of the node that checked last.
   */
  readonly jobLockMs: number;
  /**
   * `OMNIGATE_WEBHOOK_ALLOW_PRIVATE`: let webhook subscriptions target loopback, private and
   * link-local addresses (tests, closed networks). Off, such URLs are refused (SSRF protection).
   */
  readonly webhookAllowPrivate: boolean;
  /** `OMNIGATE_WEBHOOK_MAX_PER_KEY`: webhook subscriptions one API key may hold. */
  readonly webhookMaxPerKey: number;
  /** `OMNIGATE_SSE_MAX_PER_KEY`: event streams (SSE) one API key may hold open on one node. */
  readonly sseMaxPerKey: number;
  /**
   * `OMNIGATE_SSE_MAX_BUFFER_BYTES`: bytes an event stream may have waiting for a client that does
   * not read; past it the stream is dropped (the client resumes with Last-Event-ID).
   */
  readonly sseMaxBufferBytes: number;
  /** `OMNIGATE_SSE_HEARTBEAT_MS`: keep-alive comments on event streams this often; a paused stream whose client reads nothing for this long is dropped. */
  readonly sseHeartbeatMs: number;
  /** `OMNIGATE_SSE_LOG_RETENTION_MS` / `OMNIGATE_SSE_LOG_MAX_EVENTS`: how long the SSE resume log keeps events, and a cap on how many. */
  readonly sseLog: { readonly retentionMs: number; readonly maxEvents: number };
  /** `OMNIGATE_QUEUES_STREAM_INTERVAL_MS`: while GET /v1/queues/stream has a client on a node, the node reads the dispatch numbers this often (an event goes out when they changed). */
  readonly queuesStreamIntervalMs: number;
  /** `OMNIGATE_QUEUES_METRICS_TIMEOUT_MS`: a /metrics scrape waits this long for the dispatch numbers; past it they are left out and `omnigate_dispatch_stats_up` is 0. */
  readonly queuesMetricsTimeoutMs: number;
  /** `OMNIGATE_BOT_CATALOGUE_REFRESH_MS`: the built-in bot's product catalogue is read again (`product.list`) this often; a failed read keeps the last good list. */
  readonly botCatalogueRefreshMs: number;
  /** `OMNIGATE_WS_*`: the chat socket's limits and timers (src/config/ws-config.ts). */
  readonly ws: WsConfig;
  /**
   * `OMNIGATE_CONNECTOR_<CONNECTOR>_<FIELD>`: raw connector settings, keyed by the name without
   * the prefix (`ORDERS_JAVA_CLIENT_SECRET`). The registry picks each connector's own by its name
   * and checks them against its config schema. Secret.
   */
  readonly connectorEnv: Readonly<Record<string, string>>;
  /**
   * `OMNIGATE_RESILIENCE_<CONNECTOR>_<FIELD>`: per-connector resilience settings (timeoutMs,
   * errorThresholdPercentage, …; see src/modules/resilience/settings.ts), keyed like connectorEnv.
   */
  readonly resilienceEnv: Readonly<Record<string, string>>;
  /** Agent JWTs, visitor tokens, widget keys, the agent directory's seed (src/config/identity-config.ts). */
  readonly identity: IdentityConfig;
  /** `OMNIGATE_CHAT_*`: conversations (timers, reopen window, retention, the cap per visitor, the bot). */
  readonly chat: ChatConfig;
  /** `OMNIGATE_BOT_*`: the webhook bot's service (secret), the built-in bot's data, the bot's jobs (src/config/chat-config.ts). */
  readonly bot: BotConfig;
  /** `OMNIGATE_DISPATCH*`, `OMNIGATE_ROUTING_RULES_FILE`: how waiting conversations reach agents (src/config/dispatch-config.ts). */
  readonly dispatch: DispatchConfig;
  /** `OMNIGATE_LINEAGE_*`, `OMNIGATE_JAEGER_UI_URL`: how long and how much lineage is kept, and where traces open (src/config/lineage-config.ts). */
  readonly lineage: LineageConfig;
  /** `OMNIGATE_CAPABILITY_OWNERS`: the connector that serves a capability several connectors declare, or its routing by a param (src/config/capability-owners-config.ts). */
  readonly capabilityOwners: CapabilityOwners;
  /** `OMNIGATE_CONFIG_ENCRYPTION_KEY` and the variables run-time connector config may reference (src/config/connector-settings-config.ts). */
  readonly connectorSettings: ConnectorSettingsConfig;
  /** `OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_BSP_SCHEDULE_DELAY`: spans and where they go (src/config/telemetry-config.ts). */
  readonly telemetry: TelemetryConfig;
}

export interface ApiKey {
  readonly name: string;
  readonly key: string;
}

/** Breaker state shared by the nodes of a cluster. */
export interface BreakerSharing {
  /**
   * `OMNIGATE_BREAKER_SHARED` (default true): count failures across the nodes in the cache Redis,
   * open every node's breaker when the cluster's opens, and send one half-open trial per reset
   * interval for the cluster. Off (or Redis away), each node's breakers decide alone.
   */
  readonly shared: boolean;
  /** `OMNIGATE_BREAKER_SCOPE` (default `omnigate`): nodes on one Redis with the same scope share breakers. */
  readonly scope: string;
  /**
   * `OMNIGATE_BREAKER_SYNC_MS` (default 200, at most 1000): how often a node sends its outcomes and
   * reads the cluster's state: one round trip for all its breakers. An open cluster breaker reaches
   * every node within it.
   */
  readonly syncMs: number;
}
