import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { ConfigError, type Config } from './config/config.ts';
import { createBullmqJobBackend } from './adapters/bullmq/bullmq-job-backend.ts';
import { COMMANDS_TOPIC, createKafkaEventBus, EVENTS_TOPIC } from './adapters/kafka/kafka-event-bus.ts';
import { createMemoryEventBus } from './adapters/memory/memory-event-bus.ts';
import { createRedisBlobStore } from './adapters/redis/redis-blob-store.ts';
import { createRedis } from './adapters/redis/redis-client.ts';
import { createRedisDedupeStore } from './adapters/redis/redis-dedupe-store.ts';
import { createRedisIdempotencyStore } from './adapters/redis/redis-idempotency-store.ts';
import { createRedisCursorStore, createRedisLeaseStore } from './adapters/redis/redis-lease-store.ts';
import { createRedisRecordStore } from './adapters/redis/redis-record-store.ts';
import { createRedisStreamStore } from './adapters/redis/redis-stream-store.ts';
import { createRedisRateLimiter } from './adapters/redis/redis-rate-limiter.ts';
import { createRedisStaleCache } from './adapters/redis/redis-stale-cache.ts';
import { createRedisSharedBreakerStore } from './adapters/redis/redis-shared-breaker-store.ts';
import { createMemorySharedBreakerStore } from './adapters/memory/memory-shared-breaker-store.ts';
import { createHostChannel, type HostChannel } from './modules/host/host-channel.ts';
import { createMetrics } from './modules/observability/metrics.ts';
import { createFileAuditLog } from './adapters/file/file-audit-log.ts';
import { cloudEvent } from './kernel/events.ts';
import { clusterLifecycle } from './modules/admin/cluster.ts';
import { createEvents, type Events, type EventsDeps } from './modules/events/events.service.ts';
import { createEventStreams } from './modules/events/event-streams.ts';
import { createInboundRouter, startPollers } from './modules/events/connector-events.ts';
import { createLifecycle } from './modules/connectors/lifecycle.ts';
import { watchConnectors } from './modules/connectors/watcher.ts';
import { createResiliencePipeline } from './modules/resilience/pipeline.ts';
import { createSettingsProvider } from './modules/resilience/settings.ts';
import { createSharedBreakers } from './modules/resilience/shared-breakers.ts';
import { createDisposables, type Disposables } from './kernel/disposables.ts';
import type { Logger } from './kernel/logger.ts';
import { createSecrets, type Secrets } from './kernel/secrets.ts';
import { startTelemetry } from './kernel/telemetry.ts';
import { createAjv, createSchemaRegistry } from './kernel/schemas.ts';
import { buildApp } from './app.ts';
import { createRedisChatFanout } from './adapters/redis/redis-chat-fanout.ts';
import { createRedisOutboxBell } from './adapters/redis/redis-outbox-bell.ts';
import { createRedisPresenceStore } from './adapters/redis/redis-presence-store.ts';
import { createChatSockets, type ChatSockets } from './modules/chat/ws/chat-sockets.ts';
import { createProtocol, loadAsyncApi } from './modules/chat/ws/protocol.ts';
import { envPrefixFor } from './modules/connectors/connector-config.ts';
import { createConnectorCalls } from './modules/connectors/connector-calls.ts';
import { createPackageStore } from './modules/connectors/package-store.ts';
import { createConnectorRegistry, type ConnectorRegistry } from './modules/connectors/registry.ts';
import { createRuntimeConfigs } from './modules/connectors/runtime-config.ts';
import { createConnectorConfigs } from './modules/admin/connector-configs.ts';
import { createConfigCipher } from './kernel/config-cipher.ts';
import { loadOpenApi } from './kernel/openapi.ts';
import { createContextService, type ContextService } from './modules/query/context.service.ts';
import { createQueryService } from './modules/query/query.service.ts';
import { createRedisLineageStore } from './adapters/redis/redis-lineage-store.ts';
import { businessKeysOf } from './modules/lineage/business-keys.ts';
import { createLineageRecorder, type LineageRecorder } from './modules/lineage/lineage-recorder.ts';
import { createIdempotency } from './modules/jobs/idempotency.ts';
import { createJobQueues, JOB_KEY_PREFIX } from './modules/jobs/job-queues.ts';
import { createOpenTicket, createTicketJobs } from './modules/jobs/ticket-jobs.ts';
import { createSubscriptions } from './modules/webhooks/subscriptions.ts';
import { createWebhooks } from './modules/webhooks/webhooks.service.ts';
import { answerClientError } from './modules/http/client-error.ts';
import { identitySecrets } from './config/identity-config.ts';
import { createRedisTicketStore } from './adapters/redis/redis-ticket-store.ts';
import { createIdentity } from './modules/identity/identity.ts';
import { createRedisConversationStore } from './adapters/redis/redis-conversation-store.ts';
import { createBotRuntime } from './modules/bot/bot-for.ts';
import { botSecrets } from './config/chat-config.ts';
import type { ConversationEvent } from './modules/chat/conversation.types.ts';
import { createConversations } from './modules/chat/conversations.service.ts';
import { createRedisDispatchStore } from './adapters/redis/redis-dispatch-store.ts';
import { createQueues } from './modules/dispatch/queues.ts';
import { createMessageTickets } from './modules/dispatch/message-tickets.ts';
import { createRoutingRulesStore } from './modules/dispatch/routing-rules-store.ts';
import { dispatcherFor } from './modules/dispatch/routing-dispatch.ts';
import { createRoutingRulesValidator, loadRoutingRulesSchema } from './modules/dispatch/routing-rules-validator.ts';
import { createProductCatalogue, type RefreshingCatalogue } from './modules/bot/catalogue.ts';

/** How long start-up waits for the durable Redis to connect before going on degraded. */
const REDIS_START_WAIT_MS = 2_000;

/** A running gateway: its server, registry and a clean stop. */
export interface Gateway {
  readonly server: Server;
  readonly registry: ConnectorRegistry;
  readonly events: Events;
  /** Customer context through the query API (dispatch's routing facts read it; so do their tests). */
  readonly context: ContextService;
  /** The query service, recording the lineage of every call made for a conversation (and the bot's understandings). */
  readonly query: LineageRecorder;
  /** The URL it listens on. */
  readonly url: string;
  /** This node's chat sockets (dispatch reads the conversations its visitors follow and writes them queue frames). */
  readonly chat: ChatSockets;
  /** The product catalogue the built-in bot recognises products by (only with `OMNIGATE_CHAT_BOT=builtin`). */
  readonly catalogue?: RefreshingCatalogue;
  /**
   * Stops accepting, drains in-flight requests (bounded by shutdownGraceMs), flushes events, lets
   * running jobs finish (bounded again) and closes the job workers, the connectors and Redis.
   */
  stop(): Promise<void>;
}

/**
 * Wires adapters and modules together and listens. main.ts and the integration tests both use it.
 * `secrets` are the values scrubbed from `log`'s lines (the same set given to createLogger); the
 * gateway adds the operators' secrets to them (keys, connector `x-secret` config) as it learns
 * them; never webhook subscription secrets, which any key holder chooses.
 */
export async function startGateway(config: Config, log: Logger, rootDir: string, secrets: Secrets = createSecrets()): Promise<Gateway> {
  secrets.add(...config.apiKeys.map((k) => k.key), ...config.adminKeys.map((k) => k.key), ...identitySecrets(config.identity), ...botSecrets(config.bot));
  const schemas = createSchemaRegistry(join(rootDir, 'schemas'));
  // Each part registers its close as it starts; stop() closes them last first (see Disposables).
  const disposables = createDisposables(log);
  // The thread's tracing (src/instrument.ts started it already, with the instrumentations, when
  // preloaded); its last spans go out after everything else has stopped.
  const telemetry = startTelemetry(config.telemetry);
  disposables.defer('telemetry', () => telemetry.flush());
  /** Once it listens, a stop is graceful (jobs and the outbox get their time); before, it is not. */
  let listening = false;
  // Two instances (README, "Redis: two instances"): what users drive into the cache must never
  // crowd out the outbox and the queues, and each instance has one eviction policy.
  const redis = createRedis(config.redisUrl, log, {
    whenLost: 'no idempotency, queued jobs or subscriptions; events buffered in memory',
    expect: { policy: 'noeviction', memoryWarnPercent: config.redisMemoryWarnPercent },
    commandTimeoutMs: config.redisCommandTimeoutMs,
  });
  // The stale-cache GET of a refusal goes out on its own: gathered into a pipeline of one, as at a
  // paced rate, its objects outlived V8's scavenges (3.1 against 1.2–1.4 MB promoted by each,
  // pauses of 6–7 against 3.6–4 ms; bench/README.md). The rest keep their pipelines: at max
  // throughput they save a socket write per command (without any, a read cost 10–25 % more CPU).
  const cacheRedis = createRedis(config.redisCacheUrl, log, { name: 'redis-cache', whenLost: 'no stale answers and per-node limits', commandTimeoutMs: config.redisCommandTimeoutMs, unpipelined: ['get'] });
  disposables.defer('redis', () => Promise.all([redis.close(), cacheRedis.close()]));
  // Start-up reads (when this node first started, the desired connector state) fail fast while the
  // connection is still opening: wait for it, briefly. A Redis that is down is degraded, not fatal.
  const redisReady = await redis.ready(REDIS_START_WAIT_MS);
  if (!redisReady) log.warn({ waitedMs: REDIS_START_WAIT_MS }, 'redis not ready at start: starting degraded, it keeps reconnecting');
  if (config.redisCacheUrl === config.redisUrl) log.warn('REDIS_CACHE_URL is REDIS_URL: stale answers and rate-limit buckets share the durable Redis and can crowd out the outbox and queues');
  const dedupe = createRedisDedupeStore(redis);
  const leases = createRedisLeaseStore(redis);
  // Rate limits are decided here and reconciled with the other nodes through Redis every syncMs.
  const limiter = createRedisRateLimiter(cacheRedis, { syncMs: config.rateLimitSyncMs });
  disposables.defer('rate limits', () => limiter.close());
  const cache = createRedisStaleCache(cacheRedis, { rewriteMs: config.staleRewriteMs });
  const metrics = createMetrics();
  // One of several processes on this host (OMNIGATE_PROCESSES): its primary writes the audit trail,
  // relays lifecycle commands between the processes and aggregates their metrics (src/primary.ts).
  const host = config.processes.index !== undefined && process.send ? createHostChannel(metrics.registry) : undefined;
  const source = `/omnigate/nodes/${config.nodeId}`;
  const store = createPackageStore(config.connectorStoreDir);
  // Breakers count failures and hold their state across the nodes, in the cache Redis (docs/scaling.md).
  const sharedBreakers = createSharedBreakers({
    store: config.breakers.shared ? createRedisSharedBreakerStore(cacheRedis) : createMemorySharedBreakerStore(),
    nodeId: config.nodeId, scope: config.breakers.scope, syncMs: config.breakers.syncMs, log, metrics,
  });
  disposables.defer('shared breakers', async () => sharedBreakers.close());
  const pipeline = createResiliencePipeline({
    log, metrics, limiter, shared: sharedBreakers,
    onBreakerChange: (change) =>
      void events.publish([cloudEvent({ source, type: 'breaker.state_changed', subject: change.connector, partitionkey: change.connector, data: change })]),
  });
  // Run-time connector config (PUT /v1/admin/connectors/{name}/config), shared in the durable Redis.
  const { encryptionKey, readEnv } = config.connectorSettings;
  if (encryptionKey) secrets.add(encryptionKey.toString('base64'));
  const runtimeConfigs = createRuntimeConfigs({ records: createRedisRecordStore(redis), readEnv, log, secrets, ...(encryptionKey ? { cipher: createConfigCipher(encryptionKey) } : {}) });
  const registry = createConnectorRegistry({
    log, connectorsDir: config.connectorsDir, connectorEnv: config.connectorEnv, runtimeConfig: (name) => runtimeConfigs.resolve(name), capabilityOwners: config.capabilityOwners, schemas, store,
    drainTimeoutMs: config.drainTimeoutMs, workerHeapMb: config.workerHeapMb, restartResetMs: config.restartResetMs, healthCheckIntervalMs: config.healthCheckIntervalMs,
    retryMinMs: config.connectorRetryMinMs, retryMaxMs: config.connectorRetryMaxMs, secrets, telemetry: config.telemetry,
    onChange: (outcome) => {
      if (outcome.action === 'remove' && outcome.result === 'ok') {
        pipeline.forget(outcome.connector);
        // Its worker is gone: its last utilization is no reading of anything.
        metrics.workerLoopUtilization.remove({ connector: outcome.connector });
      }
      void events.publish([cloudEvent({ source, type: 'connector.changed', subject: outcome.connector, partitionkey: outcome.connector, data: outcome })]);
    },
    onWorkerVitals: (connector, vitals) => {
      metrics.workerLoopDelay.observe({ connector }, vitals.delayMaxMs / 1_000);
      metrics.workerLoopUtilization.set({ connector }, vitals.utilization);
      metrics.workerGc.inc({ connector }, vitals.gcMs / 1_000);
    },
  });
  disposables.defer('connectors', () => registry.close());
  // Running jobs call connectors: the workers close before the registry.
  const jobBackend = createBullmqJobBackend({ redisUrl: config.redisUrl, log, prefix: JOB_KEY_PREFIX });
  disposables.defer('job store', () => jobBackend.close());
  const jobs = createJobQueues({ backend: jobBackend, log, metrics, attempts: config.jobAttempts, backoffMs: config.jobBackoffMs, lockMs: config.jobLockMs });
  disposables.defer('jobs', () => jobs.close(listening ? config.shutdownGraceMs : 0));
  // The pipeline and the registry publish through `events` only once they run, after this line.
  // The outbox's last events may still queue webhook deliveries: events close before the jobs.
  const events = await createEvents({ ...(await eventBusFor(config, log, disposables, host)), nodeId: config.nodeId, dedupe, streams: createRedisStreamStore(redis), leases, log, metrics, outboxBatch: config.outboxBatch, eventLog: config.sseLog, outboxBuckets: config.outboxBuckets, outboxLeaseMs: config.outboxLeaseMs,
    bell: createRedisOutboxBell({ client: redis.client, log }), outboxPollMs: config.outboxPollMs });
  disposables.defer('events', () => events.close(listening ? Math.min(5_000, config.shutdownGraceMs) : 0));
  const fileAudit = createFileAuditLog(config.auditFile);
  const audit = host ? host.auditLog(fileAudit) : fileAudit;
  const localLifecycle = createLifecycle({ registry, audit, log });
  const lifecycle = await clusterLifecycle({
    lifecycle: localLifecycle, events, blobs: createRedisBlobStore(redis), records: createRedisRecordStore(redis), registry, isShared: config.kafkaBrokers.length > 0, log, runtimeConfigs,
  });
  const connectorConfigs = createConnectorConfigs({ registry, lifecycle, store: runtimeConfigs, connectorEnv: config.connectorEnv, secrets, log });
  disposables.defer('lifecycle', () => lifecycle.close());
  // Bulkheads are stated per host: each of its processes takes its share.
  const settings = createSettingsProvider(createAjv({ coerceTypes: true, useDefaults: true }), config.resilienceEnv, config.callTimeoutMs, config.processes.count);
  const calls = createConnectorCalls({ registry, pipeline, settings });
  // Every call made for a conversation (the query routes with X-Conversation-Id, the sidebar, the bot) is recorded as lineage.
  const lineageStore = createRedisLineageStore(redis.client, config.lineage);
  const query = createLineageRecorder({
    query: createQueryService({ registry, schemas, calls, cache, metrics, staleTtlMs: config.staleTtlMs }), store: lineageStore, events, registry, keysOf: businessKeysOf, log, source,
    breakerOf: (connector, capability) => pipeline.view(connector)?.breakers.find((b) => b.capability === capability)?.state,
  });
  const context = createContextService({ query });
  // A capability takes the idempotency token of a write when its connector declares the param.
  const takesParam = (capability: string, param: string) =>
    (registry.route(capability)?.active?.capabilities.get(capability)?.params as { properties?: Record<string, unknown> } | undefined)?.properties?.[param] !== undefined;
  const takesIdempotencyKey = (capability: string) => takesParam(capability, 'idempotencyKey');
  const openTicket = createOpenTicket(query, takesIdempotencyKey);
  const ticketJobs = createTicketJobs({ jobs, openTicket });
  // The first request holds its key for longer than its two connector calls can take.
  // The lock outlives the slowest call a request may make (any connector's deadline, twice: a
  // customer lookup and the write), so a repeat never runs while the first still might.
  const slowestCallMs = Math.max(config.callTimeoutMs, ...Object.entries(config.resilienceEnv).filter(([k]) => k.endsWith('_TIMEOUT_MS')).map(([, v]) => Number(v) || 0));
  const idempotency = createIdempotency({ store: createRedisIdempotencyStore(redis), lockMs: 2 * slowestCallMs + 1_000 });
  const webhooks = await createWebhooks({ jobs, events, subscriptions: createSubscriptions(createRedisRecordStore(redis), { maxPerKey: config.webhookMaxPerKey }), log, allowPrivate: config.webhookAllowPrivate });
  const eventStreams = createEventStreams({ eventLog: events.eventLog, log, metrics, maxPerKey: config.sseMaxPerKey, maxBufferBytes: config.sseMaxBufferBytes, heartbeatMs: config.sseHeartbeatMs });
  const identity = createIdentity({ config, log, records: createRedisRecordStore(redis), ticketStore: createRedisTicketStore(redis), limiter, metrics, query });
  disposables.defer('identity', () => identity.close());
  // The chat sockets' live events and signals (typing, presence), from every node through Redis pub/sub.
  const chatFanout = createRedisChatFanout({ client: redis.client, log });
  // Conversations append to the outbox buckets' streams, in the same script as their own stream;
  // this node's own sockets get its appends at once, not after a round trip through pub/sub.
  const conversationStore = createRedisConversationStore<ConversationEvent>({
    client: redis.client, isUp: redis.isUp, nodeId: config.nodeId, buckets: config.outboxBuckets, outboxKey: events.outbox.streamKey,
    onAppended: (conversationId, appended) => chatFanout.deliverAppended(conversationId, appended),
  });
  // The built-in bot's dictionary of products, read through the query API once the connectors are loaded.
  const catalogue = config.chat.bot === 'builtin' ? createProductCatalogue({ query, log, refreshMs: config.botCatalogueRefreshMs }) : undefined;
  if (catalogue) disposables.defer('catalogue', () => catalogue.close());
  // OMNIGATE_CHAT_BOT: each visitor message in state bot is answered by a job (any node), through the query API.
  const bots = createBotRuntime({
    chat: config.chat, bot: config.bot, schemas, log, jobs, query, leases, blobs: createRedisBlobStore(redis), conversations: () => conversations.forBot,
    ...(catalogue ? { catalogue } : {}), understood: (entry) => query.recordUnderstanding(entry),
  });
  disposables.defer('bot', async () => bots.close());
  // A message left when nobody can take a chat becomes a ticket; the job tells the conversation once it exists.
  const messages = createMessageTickets({
    jobs, query, takesIdempotencyKey, takesParam, log, attempts: config.messageTicketAttempts,
    appendTicketOpened: async (conversationId, ticketId, ticketJobId) => void (await conversations.dispatch(conversationId, { type: 'ticket_opened', ticketId, ticketJobId }, `ticket:${ticketJobId}`)),
  });
  const dispatchStore = createRedisDispatchStore({ client: redis.client });
  // Shared by every node in the durable Redis; seeded from the rules file when it has none.
  const routingRules = createRoutingRulesStore({ client: redis.client, validate: createRoutingRulesValidator(loadRoutingRulesSchema(rootDir)), log, ...(config.dispatch.rulesFile ? { seedFile: config.dispatch.rulesFile } : {}) });
  const presence = createRedisPresenceStore(redis);
  // OMNIGATE_DISPATCH: manual (agents pick from the queue), or routing (rules, group queues, offers), told of every append.
  const dispatch = dispatcherFor({
    config: config.dispatch, log, store: dispatchStore, rules: routingRules, context, factsCache: cache, directory: identity.directory, presence, fanout: chatFanout, conversations: () => conversations,
  });
  const conversations = createConversations({ store: conversationStore, jobs, locks: leases, config: config.chat, log, messages, dispatcher: dispatch.dispatcher, admitStart: (visitor, ip) => identity.visitorLimits.conversationStart(visitor, ip), ...(bots.runner ? { bot: bots.runner } : {}) });
  const queues = createQueues({ store: dispatchStore, registry: metrics.registry, log, config });
  const agentChanged = (agentId: string) => void dispatch.service?.agentChanged(agentId).catch((err: unknown) => log.warn({ err, agentId }, 'dispatch could not sync an agent'));
  let accepting = false;
  const app = buildApp({
    config, log, rootDir, ...(host ? { hostMetrics: () => host.metrics() } : {}), identity, conversations, openapi: loadOpenApi(rootDir), registry, query, context, lineage: { store: lineageStore, ...(config.lineage.jaegerUiUrl ? { jaegerUiUrl: config.lineage.jaegerUiUrl } : {}) }, metrics, limiter, lifecycle, connectorConfigs, audit, events, eventStreams,
    jobs, openTicket, ticketJobs, idempotency, webhooks, calls, queues, routingRules, agentChanged,
    inbound: createInboundRouter({ registry, calls, events, dedupe, schemas, log, bodyLimitBytes: config.bodyLimitBytes }),
    stores: [redis, cacheRedis], resilience: (name) => pipeline.view(name), clusterProblems: () => lifecycle.problems(), isAccepting: () => accepting,
  });

  // Before the connectors load: their run-time config counts from the first load.
  await runtimeConfigs.load();
  await registry.start();
  catalogue?.start();
  const names = registry.list().map((e) => e.name);
  warnAboutStraySettings(log, names, config);
  const problems = settings.problems(names);
  if (problems.length > 0) {
    await disposables.dispose();
    throw new ConfigError(problems);
  }
  // A rules file that cannot be read or is not valid stops the start, naming its variable.
  await routingRules.start().catch(async (err: unknown) => {
    await disposables.dispose();
    throw new ConfigError([`OMNIGATE_ROUTING_RULES_FILE (${config.dispatch.rulesFile}): ${err instanceof Error ? err.message : String(err)}`]);
  });
  // A node added to a running cluster gets what was changed cluster-wide before it started.
  await lifecycle.start();
  // Jobs call connectors: their workers start once the connectors are loaded.
  jobs.start();
  const server = createServer(app);
  server.on('clientError', answerClientError(log));
  // Before it listens: an upgrade that finds no listener is dropped.
  const chatSockets = await createChatSockets({
    server, config: config.ws, nodeId: config.nodeId, log, protocol: createProtocol(loadAsyncApi(rootDir)), authenticate: (req) => identity.upgradeAuth.authenticate(req),
    conversations, fanout: chatFanout, presence, metrics,
    // Dispatch follows every presence change made on this node (sockets opening, closing, going away, leases swept).
    onPresenceChange: (change) => void dispatch.service?.agentChanged(change.agentId).catch((err: unknown) => log.warn({ err, agentId: change.agentId }, 'dispatch could not follow a presence change')),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  }).catch(async (err: unknown) => {
    await chatSockets.close();
    await disposables.dispose();
    throw err;
  });
  listening = true;
  accepting = true;
  // In-flight requests use everything registered so far: the drain comes before those closes.
  disposables.defer('http server', () => drain(server, config.shutdownGraceMs, log));
  // Event streams never end by themselves: they end before the drain, or it waits out the grace period.
  disposables.defer('event streams', () => eventStreams.close());
  disposables.defer('queue streams', () => queues.close());
  // Chat sockets too: each is closed with 1012 (reconnect elsewhere and resume) before the drain.
  disposables.defer('chat sockets', () => chatSockets.close());
  if (dispatch.service) {
    const service = dispatch.service;
    await service.start(chatSockets);
    // First to stop: no sweep or routing runs on a closing store.
    disposables.defer('dispatch', () => service.close());
  }
  if (config.eventPolling) {
    const pollers = startPollers({ registry, calls, events, dedupe, leases, cursors: createRedisCursorStore(redis), schemas, log, nodeId: config.nodeId });
    disposables.defer('pollers', () => pollers.close());
  }
  // The watcher reloads this node's own folder; it is not a cluster-wide command.
  if (config.watchConnectors) {
    const watcher = watchConnectors({ dir: config.connectorsDir, lifecycle: localLifecycle, log });
    disposables.defer('watcher', () => watcher.close());
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host}:${port}`;
  log.info({ url, nodeId: config.nodeId, connectors: registry.list().map((e) => `${e.name}:${e.state}`) }, 'gateway listening');

  let stopping: Promise<void> | undefined;
  return {
    server,
    registry,
    events,
    context,
    query,
    url,
    chat: chatSockets,
    ...(catalogue ? { catalogue } : {}),
    stop() {
      stopping ??= (async () => {
        accepting = false;
        await disposables.dispose();
        log.info('stopped');
      })();
      return stopping;
    },
  };
}

/**
 * The event bus: Kafka when brokers are configured, else the in-process bus. Kafka's topics are
 * created at start with their partition counts; a broker that is away only delays that.
 */
async function eventBusFor(config: Config, log: Logger, disposables: Disposables, host: HostChannel | undefined): Promise<Pick<EventsDeps, 'bus' | 'isShared' | 'lag'>> {
  const eventsLog = log.child({ module: 'events' });
  if (config.kafkaBrokers.length === 0) {
    eventsLog.info('no KAFKA_BROKERS: events stay within this node (in-process bus)');
    // The host's other processes still follow its lifecycle commands, through the primary.
    return { bus: host ? host.relayBus(createMemoryEventBus(), [COMMANDS_TOPIC]) : createMemoryEventBus(), isShared: false };
  }
  const kafka = createKafkaEventBus({ brokers: config.kafkaBrokers, clientId: `omnigate-${config.nodeId}`, log: eventsLog, sessionTimeoutMs: config.kafkaSessionTimeoutMs });
  let stopped = false;
  disposables.defer('kafka topics', async () => void (stopped = true));
  const ensure = async (attempt: number): Promise<void> => {
    try {
      await kafka.ensureTopics();
    } catch (err) {
      if (stopped) return;
      if (attempt % 10 === 0) eventsLog.warn({ err }, 'kafka unreachable at start: topics will be created when it is back');
      await new Promise((r) => setTimeout(r, 1_000).unref());
      return ensure(attempt + 1);
    }
  };
  await Promise.race([ensure(0), new Promise((r) => setTimeout(r, 5_000))]);
  return { bus: kafka, isShared: true, lag: { topic: EVENTS_TOPIC, read: (groups) => kafka.lag(groups, EVENTS_TOPIC) } };
}

/** Stops accepting and waits for in-flight requests, at most `graceMs`; then cuts the rest off. */
async function drain(server: Server, graceMs: number, log: Logger): Promise<void> {
  log.info({ graceMs }, 'draining');
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const grace = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
  if ((await Promise.race([closed, grace])) === 'timeout') {
    log.warn('grace period over: closing remaining connections');
    server.closeAllConnections();
    await closed;
  }
}

/** Settings for a connector that is not there are most likely a typo: say so once. */
function warnAboutStraySettings(log: Logger, connectors: readonly string[], config: Config): void {
  const prefixes = connectors.map(envPrefixFor);
  for (const [kind, env] of [['OMNIGATE_CONNECTOR_', config.connectorEnv], ['OMNIGATE_RESILIENCE_', config.resilienceEnv]] as const) {
    const stray = Object.keys(env).filter((key) => !prefixes.some((p) => key.startsWith(p)));
    if (stray.length > 0) log.warn({ variables: stray.map((key) => `${kind}${key}`) }, 'settings for connectors that are not loaded');
  }
}
