import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/config.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { RateLimiter } from '../../ports/rate-limiter.ts';
import type { RecordStore } from '../../ports/record-store.ts';
import type { TicketStore } from '../../ports/ticket-store.ts';
import { createAgentTokenVerifier } from '../auth/agent-tokens.ts';
import { createAuthenticator, type Authenticator } from '../auth/authenticator.ts';
import { createUpgradeAuthenticator, type UpgradeAuthenticator } from '../auth/upgrade-auth.ts';
import { createVisitorTokens, type VisitorTokens } from '../auth/visitor-tokens.ts';
import { createWsTickets, type WsTickets } from '../auth/ws-tickets.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { QueryService } from '../query/query.service.ts';
import { createAgentDirectory, type AgentDirectory } from './agent-directory.ts';
import { createVisitorLimits, type VisitorLimits } from './visitor-limits.ts';
import { createWidgetKeys, type WidgetKeys } from './widget-keys.ts';
import { createWidgetSessions, type WidgetSessions } from './widget-sessions.ts';

const DEFAULT_SEED_RETRY_MS = 200;

/** Who talks, resolved in one place: what the HTTP routes, the WebSocket server and the chat use. */
export interface Identity {
  /** The one resolver of API keys, admin keys, agent JWTs and visitor tokens. */
  readonly authenticator: Authenticator;
  /** For the WebSocket server: authenticates an upgrade request (tickets, subprotocol, headers, Origin). */
  readonly upgradeAuth: UpgradeAuthenticator;
  readonly widgetKeys: WidgetKeys;
  readonly visitorTokens: VisitorTokens;
  readonly tickets: WsTickets;
  readonly sessions: WidgetSessions;
  /** Skills, languages, groups, max concurrent chats per agent (dispatch reads it). */
  readonly directory: AgentDirectory;
  /** Widget sessions and new visitor conversations per address and per site. */
  readonly visitorLimits: VisitorLimits;
  /** Stops seeding the directory, if it still waits for its store. */
  close(): Promise<void>;
}

export interface IdentityDeps {
  readonly config: Pick<Config, 'apiKeys' | 'adminKeys' | 'identity'>;
  readonly log: Logger;
  /** Agent directory and visitor → customer links (the durable Redis). */
  readonly records: RecordStore;
  readonly ticketStore: TicketStore;
  readonly limiter: RateLimiter;
  readonly metrics: Metrics;
  readonly query: QueryService;
  /** Pause between two attempts to seed the directory while its store is away. */
  readonly seedRetryMs?: number;
}

/**
 * Builds the identity parts and seeds the agent directory from config, in the background until
 * its store answers (at start Redis may still be connecting; a store that is away delays the seed).
 */
export function createIdentity(deps: IdentityDeps): Identity {
  const { identity } = deps.config;
  const log = deps.log.child({ module: 'identity' });
  const widgetKeys = createWidgetKeys(identity.widgetKeys);
  // Without widget keys no visitor token is ever issued: a throwaway key keeps the type simple.
  const visitorTokens = createVisitorTokens({
    secret: identity.visitorTokenSecret ?? randomBytes(32).toString('base64url'), ttlMs: identity.visitorTokenTtlMs, clockToleranceMs: identity.clockToleranceMs,
    isSite: (site) => widgetKeys.byName(site) !== undefined,
  });
  const agentTokens = identity.agentJwt === undefined ? undefined : createAgentTokenVerifier({ config: identity.agentJwt, clockToleranceMs: identity.clockToleranceMs, log });
  const authenticator = createAuthenticator({ apiKeys: deps.config.apiKeys, adminKeys: deps.config.adminKeys, visitorTokens, ...(agentTokens ? { agentTokens } : {}) });
  const tickets = createWsTickets({ store: deps.ticketStore, ttlMs: identity.wsTicketTtlMs });
  const visitorLimits = createVisitorLimits({ limiter: deps.limiter, limits: identity.visitorLimits, metrics: deps.metrics });
  const directory = createAgentDirectory({ records: deps.records, log });
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const seed = (attempt: number): void => {
    directory.seed(identity.agents).catch((err: unknown) => {
      if (stopped) return;
      if (attempt % 10 === 0) log.warn({ err, attempt }, 'agent directory not seeded yet: its store is unavailable');
      retry = setTimeout(() => seed(attempt + 1), deps.seedRetryMs ?? DEFAULT_SEED_RETRY_MS).unref();
    });
  };
  if (identity.agents.length > 0) seed(0);
  return {
    async close() {
      stopped = true;
      clearTimeout(retry);
    },
    authenticator, widgetKeys, visitorTokens, tickets, visitorLimits, directory,
    upgradeAuth: createUpgradeAuthenticator({ authenticator, tickets, originAllowed: widgetKeys.originAllowed }),
    sessions: createWidgetSessions({ widgetKeys, visitorTokens, limits: visitorLimits, query: deps.query, records: deps.records, log }),
  };
}
