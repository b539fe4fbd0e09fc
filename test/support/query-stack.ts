import { join } from 'node:path';
import { connectorEnv } from '../../scripts/lib/backends.ts';
import { createBullmqJobBackend } from '../../src/adapters/bullmq/bullmq-job-backend.ts';
import { createRedis, type RedisHandle } from '../../src/adapters/redis/redis-client.ts';
import { createRedisRateLimiter } from '../../src/adapters/redis/redis-rate-limiter.ts';
import { createRedisStaleCache } from '../../src/adapters/redis/redis-stale-cache.ts';
import { loadConfig, type Config } from '../../src/config/config.ts';
import type { Logger } from '../../src/kernel/logger.ts';
import { createAjv, createSchemaRegistry } from '../../src/kernel/schemas.ts';
import { createConnectorCalls } from '../../src/modules/connectors/connector-calls.ts';
import { createPackageStore } from '../../src/modules/connectors/package-store.ts';
import { createConnectorRegistry } from '../../src/modules/connectors/registry.ts';
import { createJobQueues, JOB_KEY_PREFIX, type JobQueues } from '../../src/modules/jobs/job-queues.ts';
import { createMetrics } from '../../src/modules/observability/metrics.ts';
import type { QueryService } from '../../src/modules/query/query.service.ts';
import { createQueryService } from '../../src/modules/query/query.service.ts';
import { createResiliencePipeline } from '../../src/modules/resilience/pipeline.ts';
import { createSettingsProvider } from '../../src/modules/resilience/settings.ts';
import { API_KEY, ROOT_DIR } from './gateway.ts';
import { TEST_REDIS_CACHE_URL, TEST_REDIS_URL, TEST_URLS } from './ports.ts';

/** The gateway's own parts below HTTP: the real connectors (over this run's backends), the query service and the job queues. */
export interface QueryStack {
  readonly config: Config;
  readonly redis: RedisHandle;
  readonly query: QueryService;
  readonly jobs: JobQueues;
  /** Whether the loaded connector of a capability declares a param (as the gateway tells its jobs). */
  takesParam(capability: string, param: string): boolean;
  /** Starts the job workers: after every queue is defined. */
  start(): void;
  close(): Promise<void>;
}

/**
 * Composes the query service and the job queues as src/gateway.ts does, for a test that runs a
 * module's jobs against the real backends without a gateway in front. `env` as for a gateway.
 */
export async function startQueryStack(log: Logger, env: Record<string, string> = {}): Promise<QueryStack> {
  const config = loadConfig({ OMNIGATE_API_KEYS: `test:${API_KEY}`, REDIS_URL: TEST_REDIS_URL, REDIS_CACHE_URL: TEST_REDIS_CACHE_URL, OMNIGATE_RESILIENCE_TICKETS_NODE_RATE_LIMIT_PER_SEC: '100000', OMNIGATE_RESILIENCE_CRM_PYTHON_RATE_LIMIT_PER_SEC: '100000', ...connectorEnv(TEST_URLS), ...env }, ROOT_DIR);
  const redis = createRedis(config.redisUrl, log);
  const cacheRedis = createRedis(config.redisCacheUrl, log, { name: 'redis-cache' });
  const metrics = createMetrics();
  const schemas = createSchemaRegistry(join(ROOT_DIR, 'schemas'));
  const registry = createConnectorRegistry({
    log, connectorsDir: config.connectorsDir, connectorEnv: config.connectorEnv, schemas, store: createPackageStore(config.connectorStoreDir),
    retryMinMs: config.connectorRetryMinMs, retryMaxMs: config.connectorRetryMaxMs, restartResetMs: config.restartResetMs,
  });
  const pipeline = createResiliencePipeline({ log, metrics, limiter: createRedisRateLimiter(cacheRedis, { syncMs: 100 }) });
  const settings = createSettingsProvider(createAjv({ coerceTypes: true, useDefaults: true }), config.resilienceEnv, config.callTimeoutMs);
  const calls = createConnectorCalls({ registry, pipeline, settings });
  const query = createQueryService({ registry, schemas, calls, cache: createRedisStaleCache(cacheRedis, { rewriteMs: config.staleRewriteMs }), metrics, staleTtlMs: config.staleTtlMs });
  const backend = createBullmqJobBackend({ redisUrl: config.redisUrl, log, prefix: JOB_KEY_PREFIX });
  const jobs = createJobQueues({ backend, log, metrics, attempts: config.jobAttempts, backoffMs: config.jobBackoffMs, lockMs: config.jobLockMs });
  await registry.start();
  return {
    config,
    redis,
    query,
    jobs,
    takesParam: (capability, param) =>
      (registry.route(capability)?.active?.capabilities.get(capability)?.params as { properties?: Record<string, unknown> } | undefined)?.properties?.[param] !== undefined,
    start: () => jobs.start(),
    async close() {
      await jobs.close(1_000);
      await backend.close();
      await registry.close();
      await Promise.all([redis.close(), cacheRedis.close()]);
    },
  };
}
