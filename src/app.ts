import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
import type { Config } from './config/config.ts';
import { AppError } from './kernel/errors.ts';
import type { Logger } from './kernel/logger.ts';
import { createApiKeyAuth, createChatAuth } from './modules/auth/api-key.middleware.ts';
import { createWsTicketsRouter } from './modules/auth/ws-tickets.routes.ts';
import { createAgentsAdminRouter } from './modules/identity/agents.routes.ts';
import type { Identity } from './modules/identity/identity.ts';
import { createConversationsRouter } from './modules/chat/conversations.routes.ts';
import { createSidebarRouter } from './modules/chat/sidebar.routes.ts';
import { createSidebar } from './modules/chat/sidebar.service.ts';
import { createDispatchRouter } from './modules/dispatch/dispatch.routes.ts';
import { createQueuesRouter, type QueuesRoutesDeps } from './modules/dispatch/queues.routes.ts';
import type { RoutingRulesStore } from './modules/dispatch/routing-rules-store.ts';
import { createRoutingRulesRouter } from './modules/dispatch/routing-rules.routes.ts';
import type { Conversations } from './modules/chat/conversations.service.ts';
import { createWidgetCors } from './modules/identity/widget-cors.ts';
import { createWidgetRouter } from './modules/identity/widget.routes.ts';
import type { StoreHealth } from './ports/cache.ts';
import type { AuditLog } from './ports/audit-log.ts';
import { createAdminAuth } from './modules/admin/admin-key.middleware.ts';
import { createAdminRouter } from './modules/admin/admin.routes.ts';
import { createConnectorConfigRouter } from './modules/admin/connector-config.routes.ts';
import type { ConnectorConfigs } from './modules/admin/connector-configs.ts';
import type { Lifecycle } from './modules/connectors/lifecycle.ts';
import { createEventsRouter } from './modules/events/events.routes.ts';
import type { Events } from './modules/events/events.service.ts';
import type { EventStreams } from './modules/events/event-streams.ts';
import type { RateLimiter } from './ports/rate-limiter.ts';
import { createKeyRateLimit } from './modules/auth/rate-limit.middleware.ts';
import { createConnectorsRouter, type ClusterProblems, type ResilienceView } from './modules/connectors/connectors.routes.ts';
import { createMetricsRouter, httpMetrics } from './modules/observability/metrics.routes.ts';
import type { Metrics } from './modules/observability/metrics.ts';
import type { ConnectorRegistry } from './modules/connectors/registry.ts';
import { createDocsRouter } from './modules/docs/docs.routes.ts';
import type { DeclaredCapability } from './modules/docs/served-spec.ts';
import { createHealthRouter } from './modules/health/health.routes.ts';
import { allowedMethods } from './modules/http/allowed-methods.ts';
import { jsonBody } from './modules/http/json-body.ts';
import { createRequestValidator } from './modules/http/openapi-validator.ts';
import { errorHandler, routeNotFound } from './modules/http/problems.ts';
import { requestContext } from './modules/http/request-context.ts';
import { createProxyRouter } from './modules/proxy/proxy.routes.ts';
import type { ConnectorCalls } from './modules/connectors/connector-calls.ts';
import type { Idempotency } from './modules/jobs/idempotency.ts';
import type { JobQueues } from './modules/jobs/job-queues.ts';
import { createJobsAdminRouter, createJobsRouter } from './modules/jobs/jobs.routes.ts';
import type { OpenTicket, TicketJobs } from './modules/jobs/ticket-jobs.ts';
import { createWebhooksRouter } from './modules/webhooks/webhooks.routes.ts';
import type { Webhooks } from './modules/webhooks/webhooks.service.ts';
import type { ContextService } from './modules/query/context.service.ts';
import { createConversationAttributor } from './modules/query/conversation-attribution.ts';
import { createQueryRouter, isBodilessQueryRead, isQueryRead } from './modules/query/query.routes.ts';
import { createLineageRouter, type LineageRoutesDeps } from './modules/lineage/lineage.routes.ts';
import type { QueryService } from './modules/query/query.service.ts';

export interface AppDeps {
  readonly config: Pick<Config, 'apiKeys' | 'adminKeys' | 'bodyLimitBytes' | 'uploadLimitBytes' | 'callTimeoutMs' | 'rateLimitPerKey' | 'rateLimitWindowMs'>;
  readonly log: Logger;
  readonly rootDir: string;
  readonly openapi: Record<string, unknown>;
  readonly registry: ConnectorRegistry;
  readonly query: QueryService;
  readonly context: ContextService;
  /** GET /v1/conversations/{id}/trace and /v1/lineage/{system}/{id}: the lineage store, and Jaeger's UI for links. */
  readonly lineage: Pick<LineageRoutesDeps, 'store' | 'jaegerUiUrl'>;
  /** False while starting and once draining: new requests get 503 SHUTTING_DOWN. */
  readonly isAccepting: () => boolean;
  readonly metrics: Metrics;
  /** On one of several processes of a host: the host's metrics, aggregated by its primary (else this process's). */
  readonly hostMetrics?: () => Promise<{ text: string; contentType: string }>;
  readonly limiter: RateLimiter;
  readonly stores: readonly StoreHealth[];
  readonly resilience: ResilienceView;
  /** Connectors this node could not bring to the cluster's desired state, shown on /v1/connectors. */
  readonly clusterProblems?: ClusterProblems;
  /** The one way to call a connector; the proxy's calls run through it too. */
  readonly calls: ConnectorCalls;
  readonly lifecycle: Lifecycle;
  /** Connectors' run-time config (GET/PUT/DELETE /v1/admin/connectors/{name}/config). */
  readonly connectorConfigs: ConnectorConfigs;
  readonly audit: AuditLog;
  readonly events: Events;
  /** The SSE streams of GET /v1/events/stream (ended by the gateway's stop). */
  readonly eventStreams: EventStreams;
  readonly jobs: JobQueues;
  /** POST /v1/inbound/{connector}: backends' signed webhooks (authenticated by signature, not key). */
  readonly inbound: Router;
  readonly openTicket: OpenTicket;
  readonly ticketJobs: TicketJobs;
  readonly idempotency: Idempotency;
  readonly webhooks: Webhooks;
  /** Who talks: the authenticator of every credential, widget keys and sessions, WS tickets, the agent directory. */
  readonly identity: Identity;
  /** The routing rules every node uses (GET/PUT /v1/admin/routing-rules). */
  readonly routingRules: RoutingRulesStore;
  /** The conversations (chat over REST here, and over /v1/ws). */
  readonly conversations: Conversations;
  /** GET /v1/queues(/stream): the dispatch store's numbers, and this node's SSE streams of them. */
  readonly queues: Pick<QueuesRoutesDeps, 'store' | 'streams' | 'now'>;
  /** An agent's profile changed through the admin API (routing dispatch re-syncs it). */
  readonly agentChanged?: (agentId: string) => void;
}

/** Where the chat routers' routes live, under /v1 (their paths all start so). */
const CHAT_AREA = /^\/(?:conversations|queues|lineage)(?:\/|$)/i;

/** The express app, built from its dependencies; main.ts and the tests build it the same way. */
export function buildApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  const { identity } = deps;
  const { authenticator } = identity;
  const validate = createRequestValidator(deps.openapi);
  const accepting = (_req: Request, res: Response, next: NextFunction): void => {
    if (deps.isAccepting()) return next();
    res.setHeader('connection', 'close');
    next(new AppError('SHUTTING_DOWN', 'the gateway is not accepting requests right now'));
  };
  const apiKeyAuth = createApiKeyAuth(authenticator, { agentMay: isQueryRead });
  const keyRateLimit = createKeyRateLimit({ limiter: deps.limiter, limit: deps.config.rateLimitPerKey, windowMs: deps.config.rateLimitWindowMs, metrics: deps.metrics });
  const queryRouter = createQueryRouter({
    query: deps.query, context: deps.context, validate, openTicket: deps.openTicket, ticketJobs: deps.ticketJobs, idempotency: deps.idempotency,
    attributor: createConversationAttributor({ conversations: deps.conversations }),
    capabilityKind: (capability) => deps.registry.route(capability)?.active?.capabilities.get(capability)?.kind,
  });

  app.use(requestContext(deps.log));
  app.use(httpMetrics(deps.metrics));
  // The query API's reads take the short way: of the ~40 layers below, only these four can act
  // on a GET of theirs without a body (the others are other paths, other methods or bodies).
  // Walking the rest, into every router mounted at /v1, was ~10 % of a read's main thread and
  // ~20 % of what a refusal allocated (bench/README.md). Anything they leave unanswered is a 404,
  // and every error gets the same problem answer, as on the long way.
  const queryReads = express.Router();
  queryReads.use(accepting, apiKeyAuth, keyRateLimit);
  queryReads.use('/v1', queryRouter);
  queryReads.use(routeNotFound(), errorHandler());
  app.use((req, res, next) => (isBodilessQueryRead(req) ? queryReads(req, res, next) : next()));
  // Public: health (answers while draining, so orchestrators see not_ready) and docs.
  app.use(createHealthRouter(deps));
  app.use(accepting);
  app.use(createDocsRouter({ rootDir: deps.rootDir, openapi: deps.openapi, capabilities: () => declaredCapabilities(deps.registry) }));
  // Widgets call these from the sites' pages: CORS, with preflights answered before anything else.
  app.use('/v1/widget', createWidgetCors(identity.widgetKeys, ['POST']));
  app.use(['/v1/ws', '/v1/conversations'], createWidgetCors(identity.widgetKeys, ['GET', 'POST', 'PUT', 'DELETE']));
  app.use(allowedMethods(deps.openapi));

  // Backends' webhooks: the connector checks the sender's signature; no API key.
  app.use('/v1', deps.inbound);
  // Widget sessions: the site's public widget key, no API key.
  app.use('/v1/widget', jsonBody(deps.config.bodyLimitBytes), createWidgetRouter({ sessions: identity.sessions, validate }));
  // The admin API takes admin keys only.
  // One authenticator resolves every credential to its principal; each area says which it takes.
  app.use('/v1/admin', createAdminAuth(authenticator));
  app.use('/v1/admin', createAdminRouter({ lifecycle: deps.lifecycle, audit: deps.audit, validate, uploadLimitBytes: deps.config.uploadLimitBytes }));
  app.use('/v1/admin/connectors/:name/config', jsonBody(deps.config.bodyLimitBytes));
  app.use('/v1/admin', createConnectorConfigRouter({ configs: deps.connectorConfigs, validate }));
  app.use('/v1/admin', createJobsAdminRouter({ jobs: deps.jobs, validate }));
  app.use('/v1/admin/agents', jsonBody(deps.config.bodyLimitBytes));
  app.use('/v1/admin', createAgentsAdminRouter({ directory: identity.directory, validate, ...(deps.agentChanged ? { onChange: deps.agentChanged } : {}) }));
  app.use('/v1/admin/routing-rules', jsonBody(deps.config.bodyLimitBytes));
  app.use('/v1/admin', createRoutingRulesRouter({ rules: deps.routingRules, validate }));

  // The chat API takes services, agents and visitors; its routes check roles and scopes.
  app.use(['/v1/conversations', '/v1/ws', '/v1/queues', '/v1/lineage'], createChatAuth(authenticator, identity.widgetKeys.originAllowed), keyRateLimit, jsonBody(deps.config.bodyLimitBytes));
  app.use('/v1/ws', createWsTicketsRouter({ tickets: identity.tickets, validate }));
  // Entered only under the chat paths: any other request skips all their routes in one test.
  const chat = express.Router();
  chat.use(createConversationsRouter({ conversations: deps.conversations, validate }));
  chat.use(createSidebarRouter({ sidebar: createSidebar({ conversations: deps.conversations, context: deps.context }), validate }));
  chat.use(createDispatchRouter({ conversations: deps.conversations, validate }));
  chat.use(createQueuesRouter({ ...deps.queues, validate }));
  chat.use(createLineageRouter({ ...deps.lineage, conversations: deps.conversations, validate }));
  app.use('/v1', (req, res, next) => (CHAT_AREA.test(req.path) ? chat(req, res, next) : next()));
  // Nothing under the chat paths falls through to the service routes (which would refuse agents and visitors).
  app.use(['/v1/conversations', '/v1/ws', '/v1/queues', '/v1/lineage'], routeNotFound());

  // Everything below needs a key.
  app.use(apiKeyAuth);
  app.use(keyRateLimit);
  app.use(createMetricsRouter(deps));
  app.use('/v1/proxy', createProxyRouter({ registry: deps.registry, calls: deps.calls, bodyLimitBytes: deps.config.bodyLimitBytes }));
  app.use(jsonBody(deps.config.bodyLimitBytes));
  app.use('/v1', createConnectorsRouter({ registry: deps.registry, resilience: deps.resilience, ...(deps.clusterProblems ? { clusterProblems: deps.clusterProblems } : {}) }));
  app.use('/v1', queryRouter);
  app.use('/v1', createEventsRouter({ streams: deps.eventStreams, validate }));
  app.use('/v1', createJobsRouter({ jobs: deps.jobs, validate }));
  app.use('/v1', createWebhooksRouter({ webhooks: deps.webhooks, validate }));

  app.use(routeNotFound());
  app.use(errorHandler());
  return app;
}

/** What POST /v1/query accepts now, for the served document: each serving connector's capabilities. */
function declaredCapabilities(registry: ConnectorRegistry): DeclaredCapability[] {
  return registry.list().flatMap(({ active }) =>
    active ? active.manifest.capabilities.map((c) => ({ name: c.name, params: c.params as DeclaredCapability['params'], declaredBy: `${active.name}@${active.version}` })) : [],
  );
}
