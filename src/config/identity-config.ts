import { readEnvArea } from './env-area.ts';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createAjv } from '../kernel/schemas.ts';

export const DEFAULT_AGENT_JWT_AUDIENCE = 'omnigate';
export const DEFAULT_AGENT_ROLE_CLAIM = 'role';
export const DEFAULT_JWT_CLOCK_TOLERANCE_MS = 5_000;
export const DEFAULT_VISITOR_TOKEN_TTL_MS = 60 * 60 * 1000;
export const DEFAULT_WS_TICKET_TTL_MS = 30_000;
export const DEFAULT_WIDGET_SESSIONS_PER_IP = 30;
export const DEFAULT_WIDGET_SESSIONS_PER_SITE = 6_000;
export const DEFAULT_CONVERSATION_STARTS_PER_IP = 10;
export const DEFAULT_CONVERSATION_STARTS_PER_SITE = 1_000;
export const DEFAULT_VISITOR_LIMIT_WINDOW_MS = 60_000;
/** Visitor tokens are the gateway's own: this issuer and audience, which agent tokens must not share. */
export const VISITOR_TOKEN_ISSUER = 'omnigate';
export const VISITOR_TOKEN_AUDIENCE = 'omnigate-visitor';

/** A site's widget key (`OMNIGATE_WIDGET_KEYS`). */
export interface WidgetKey {
  /** The site: owns its visitors, named in their tokens. */
  readonly name: string;
  /** The public key the site's pages send in `X-Widget-Key`; not a secret. */
  readonly key: string;
  /** Origins (`https://shop.example`) whose pages may use it; browsers from others are refused. */
  readonly origins: readonly string[];
  /** Key of the HMAC-SHA256 the site's server computes over a customer id (identity verification). Secret. */
  readonly identitySecret?: string;
}

/** One agent's routing profile, keyed by the subject of its token. */
export interface AgentProfile {
  readonly id: string;
  readonly displayName?: string;
  readonly skills: readonly string[];
  readonly languages: readonly string[];
  readonly groups: readonly string[];
  readonly maxConcurrent: number;
}

/** How agent and supervisor JWTs are checked. */
export interface AgentJwtConfig {
  /** `OMNIGATE_AGENT_JWT_ISSUER`: the `iss` every agent token must carry. */
  readonly issuer: string;
  /** `OMNIGATE_AGENT_JWT_AUDIENCE`: the `aud` every agent token must carry. */
  readonly audience: string;
  /** `OMNIGATE_AGENT_JWT_SECRET`: a shared HS256 secret (the demo's, a small setup's). Secret. */
  readonly secret?: string;
  /** `OMNIGATE_AGENT_JWKS_URL`: an identity provider's JSON Web Key Set (RS256, ES256, EdDSA …). */
  readonly jwksUrl?: string;
  /** `OMNIGATE_AGENT_ROLE_CLAIM`: claim (dotted path) holding `agent` or `supervisor`, a string or a list. */
  readonly roleClaim: string;
}

/** Who talks: agent JWTs, visitor tokens, widget keys, the agent directory's seed, visitor limits. */
export interface IdentityConfig {
  /** Absent: no agent token is accepted (no issuer configured). */
  readonly agentJwt?: AgentJwtConfig;
  /** `OMNIGATE_JWT_CLOCK_TOLERANCE_MS`: clock skew allowed on `exp`/`nbf` of every token. */
  readonly clockToleranceMs: number;
  /** `OMNIGATE_VISITOR_TOKEN_SECRET`: the HS256 key of the gateway's own visitor tokens (same on every node). Secret. */
  readonly visitorTokenSecret?: string;
  /** `OMNIGATE_VISITOR_TOKEN_TTL_MS`: how long a visitor token lasts. */
  readonly visitorTokenTtlMs: number;
  /** `OMNIGATE_WIDGET_KEYS`: JSON list of `{name, key, origins, identitySecret?}`. */
  readonly widgetKeys: readonly WidgetKey[];
  /** `OMNIGATE_AGENTS` (JSON list) or `OMNIGATE_AGENTS_FILE`: agents written to the directory at start unless it has them. */
  readonly agents: readonly AgentProfile[];
  /** `OMNIGATE_WS_TICKET_TTL_MS`: how long a WebSocket ticket from POST /v1/ws/tickets may wait for its upgrade. */
  readonly wsTicketTtlMs: number;
  /**
   * `OMNIGATE_WIDGET_SESSIONS_PER_IP` / `_PER_SITE`, `OMNIGATE_CONVERSATION_STARTS_PER_IP` / `_PER_SITE`:
   * widget sessions and new visitor conversations per client address and per site, per
   * `OMNIGATE_VISITOR_LIMIT_WINDOW_MS`, across all nodes.
   */
  readonly visitorLimits: VisitorLimitsConfig;
}

export interface VisitorLimitsConfig {
  readonly sessionsPerIp: number;
  readonly sessionsPerSite: number;
  readonly conversationStartsPerIp: number;
  readonly conversationStartsPerSite: number;
  readonly windowMs: number;
}

const SECRET = { type: 'string', minLength: 32 } as const;
const ENV_SCHEMA = {
  type: 'object',
  properties: {
    OMNIGATE_AGENT_JWT_ISSUER: { type: 'string', minLength: 1 },
    OMNIGATE_AGENT_JWT_AUDIENCE: { type: 'string', minLength: 1, default: DEFAULT_AGENT_JWT_AUDIENCE },
    OMNIGATE_AGENT_JWT_SECRET: SECRET,
    OMNIGATE_AGENT_JWKS_URL: { type: 'string', pattern: '^https?://\\S+$' },
    OMNIGATE_AGENT_ROLE_CLAIM: { type: 'string', pattern: '^[A-Za-z0-9_:/-]+(\\.[A-Za-z0-9_:/-]+)*$', default: DEFAULT_AGENT_ROLE_CLAIM },
    OMNIGATE_JWT_CLOCK_TOLERANCE_MS: { type: 'integer', minimum: 0, maximum: 600_000, default: DEFAULT_JWT_CLOCK_TOLERANCE_MS },
    OMNIGATE_VISITOR_TOKEN_SECRET: SECRET,
    OMNIGATE_VISITOR_TOKEN_TTL_MS: { type: 'integer', minimum: 1_000, maximum: 30 * 86_400_000, default: DEFAULT_VISITOR_TOKEN_TTL_MS },
    OMNIGATE_WIDGET_KEYS: { type: 'string', minLength: 2 },
    OMNIGATE_AGENTS: { type: 'string', minLength: 2 },
    OMNIGATE_AGENTS_FILE: { type: 'string', minLength: 1 },
    OMNIGATE_WS_TICKET_TTL_MS: { type: 'integer', minimum: 100, maximum: 600_000, default: DEFAULT_WS_TICKET_TTL_MS },
    OMNIGATE_WIDGET_SESSIONS_PER_IP: { type: 'integer', minimum: 1, maximum: 100_000_000, default: DEFAULT_WIDGET_SESSIONS_PER_IP },
    OMNIGATE_WIDGET_SESSIONS_PER_SITE: { type: 'integer', minimum: 1, maximum: 100_000_000, default: DEFAULT_WIDGET_SESSIONS_PER_SITE },
    OMNIGATE_CONVERSATION_STARTS_PER_IP: { type: 'integer', minimum: 1, maximum: 100_000_000, default: DEFAULT_CONVERSATION_STARTS_PER_IP },
    OMNIGATE_CONVERSATION_STARTS_PER_SITE: { type: 'integer', minimum: 1, maximum: 100_000_000, default: DEFAULT_CONVERSATION_STARTS_PER_SITE },
    OMNIGATE_VISITOR_LIMIT_WINDOW_MS: { type: 'integer', minimum: 100, maximum: 86_400_000, default: DEFAULT_VISITOR_LIMIT_WINDOW_MS },
  },
} as const;

const ENV_MESSAGES: Readonly<Record<string, string>> = {
  OMNIGATE_AGENT_JWT_SECRET: 'must be at least 32 characters (an HS256 key)',
  OMNIGATE_VISITOR_TOKEN_SECRET: 'must be at least 32 characters (an HS256 key)',
  OMNIGATE_AGENT_JWKS_URL: 'must be an http(s) URL',
};

const NAME = '^[A-Za-z0-9_-]{1,64}$';
/** The agent id is a token's `sub`: an IdP's ids may be e-mail-like or carry `|` (auth0). */
export const AGENT_ID_PATTERN = '^[A-Za-z0-9._@|:+=~-]{1,128}$';
const WIDGET_KEYS_SCHEMA = {
  type: 'array',
  items: {
    type: 'object',
    required: ['name', 'key', 'origins'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', pattern: NAME },
      key: { type: 'string', pattern: '^[A-Za-z0-9_-]{16,128}$' },
      origins: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^https?://[A-Za-z0-9.-]+(:\\d{1,5})?$' } },
      identitySecret: { type: 'string', minLength: 16 },
    },
  },
} as const;
/** The shape of one agent, in config and in the admin API (openapi AgentProfile). */
export const AGENT_PROFILE_SCHEMA = {
  type: 'object',
  required: ['id', 'skills', 'languages', 'groups', 'maxConcurrent'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: AGENT_ID_PATTERN },
    displayName: { type: 'string', minLength: 1, maxLength: 200 },
    skills: { type: 'array', maxItems: 100, uniqueItems: true, items: { type: 'string', pattern: NAME } },
    languages: { type: 'array', maxItems: 50, uniqueItems: true, items: { type: 'string', pattern: '^[a-z]{2,3}(-[A-Z]{2})?$' } },
    groups: { type: 'array', maxItems: 50, uniqueItems: true, items: { type: 'string', pattern: NAME } },
    maxConcurrent: { type: 'integer', minimum: 1, maximum: 1_000 },
  },
} as const;

/**
 * Reads and checks the identity settings; returns every problem found (each naming its
 * variable), or the frozen settings.
 */
export function loadIdentityConfig(env: NodeJS.ProcessEnv, rootDir: string): { config: IdentityConfig; problems: [] } | { config?: undefined; problems: string[] } {
  const area = readEnvArea(env, ENV_SCHEMA, ENV_MESSAGES);
  if (area.problems.length > 0) return { problems: area.problems };
  const { raw } = area;
  const problems: string[] = [];
  const widgetKeys = parseJson(raw.OMNIGATE_WIDGET_KEYS, 'OMNIGATE_WIDGET_KEYS', WIDGET_KEYS_SCHEMA, problems) as WidgetKey[] | undefined ?? [];
  const agentsText = raw.OMNIGATE_AGENTS ?? readAgentsFile(raw.OMNIGATE_AGENTS_FILE as string | undefined, rootDir, problems);
  const agents = parseJson(agentsText, raw.OMNIGATE_AGENTS === undefined ? 'OMNIGATE_AGENTS_FILE' : 'OMNIGATE_AGENTS', { type: 'array', items: AGENT_PROFILE_SCHEMA }, problems) as AgentProfile[] | undefined ?? [];
  if (raw.OMNIGATE_AGENTS !== undefined && raw.OMNIGATE_AGENTS_FILE !== undefined) problems.push('OMNIGATE_AGENTS and OMNIGATE_AGENTS_FILE are both set: use one');
  problems.push(...repeated(widgetKeys.map((k) => k.name), 'OMNIGATE_WIDGET_KEYS lists the name'), ...repeated(widgetKeys.map((k) => k.key), 'OMNIGATE_WIDGET_KEYS lists a key twice:', true));
  problems.push(...repeated(agents.map((a) => a.id), 'the agents list the id'));

  const secret = raw.OMNIGATE_AGENT_JWT_SECRET as string | undefined;
  const jwksUrl = raw.OMNIGATE_AGENT_JWKS_URL as string | undefined;
  const issuer = raw.OMNIGATE_AGENT_JWT_ISSUER as string | undefined;
  const audience = raw.OMNIGATE_AGENT_JWT_AUDIENCE as string;
  const visitorTokenSecret = raw.OMNIGATE_VISITOR_TOKEN_SECRET as string | undefined;
  if (secret !== undefined && jwksUrl !== undefined) problems.push('OMNIGATE_AGENT_JWT_SECRET and OMNIGATE_AGENT_JWKS_URL are both set: agent tokens are checked with one key source');
  if ((secret !== undefined || jwksUrl !== undefined) && issuer === undefined) problems.push('OMNIGATE_AGENT_JWT_ISSUER is required with OMNIGATE_AGENT_JWT_SECRET or OMNIGATE_AGENT_JWKS_URL');
  if (issuer !== undefined && secret === undefined && jwksUrl === undefined) problems.push('OMNIGATE_AGENT_JWT_ISSUER needs a key: OMNIGATE_AGENT_JWT_SECRET or OMNIGATE_AGENT_JWKS_URL');
  if (audience === VISITOR_TOKEN_AUDIENCE) problems.push(`OMNIGATE_AGENT_JWT_AUDIENCE must not be ${VISITOR_TOKEN_AUDIENCE}, the visitor tokens' audience`);
  if (widgetKeys.length > 0 && visitorTokenSecret === undefined) problems.push('OMNIGATE_VISITOR_TOKEN_SECRET is required with OMNIGATE_WIDGET_KEYS (it signs the visitor tokens; the same on every node)');
  if (visitorTokenSecret !== undefined && visitorTokenSecret === secret) problems.push('OMNIGATE_VISITOR_TOKEN_SECRET must differ from OMNIGATE_AGENT_JWT_SECRET');
  if (problems.length > 0) return { problems };

  const agentJwt: AgentJwtConfig | undefined = issuer === undefined ? undefined : Object.freeze({
    issuer, audience, roleClaim: raw.OMNIGATE_AGENT_ROLE_CLAIM as string, ...(secret === undefined ? {} : { secret }), ...(jwksUrl === undefined ? {} : { jwksUrl }),
  });
  return {
    problems: [],
    config: Object.freeze({
      ...(agentJwt ? { agentJwt } : {}),
      clockToleranceMs: raw.OMNIGATE_JWT_CLOCK_TOLERANCE_MS as number,
      ...(visitorTokenSecret === undefined ? {} : { visitorTokenSecret }),
      visitorTokenTtlMs: raw.OMNIGATE_VISITOR_TOKEN_TTL_MS as number,
      widgetKeys: Object.freeze(widgetKeys.map((k) => Object.freeze({ ...k, origins: Object.freeze([...k.origins]) }))),
      agents: Object.freeze(agents.map((a) => Object.freeze(a))),
      wsTicketTtlMs: raw.OMNIGATE_WS_TICKET_TTL_MS as number,
      visitorLimits: Object.freeze({
        sessionsPerIp: raw.OMNIGATE_WIDGET_SESSIONS_PER_IP as number,
        sessionsPerSite: raw.OMNIGATE_WIDGET_SESSIONS_PER_SITE as number,
        conversationStartsPerIp: raw.OMNIGATE_CONVERSATION_STARTS_PER_IP as number,
        conversationStartsPerSite: raw.OMNIGATE_CONVERSATION_STARTS_PER_SITE as number,
        windowMs: raw.OMNIGATE_VISITOR_LIMIT_WINDOW_MS as number,
      }),
    }),
  };
}

/** The secret values of these settings, for the log scrubber. */
export function identitySecrets(config: IdentityConfig): string[] {
  return [config.agentJwt?.secret, config.visitorTokenSecret, ...config.widgetKeys.map((k) => k.identitySecret)].filter((s): s is string => s !== undefined);
}

function readAgentsFile(file: string | undefined, rootDir: string, problems: string[]): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(resolve(rootDir, file), 'utf8');
  } catch (err) {
    problems.push(`OMNIGATE_AGENTS_FILE cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}: ${resolve(rootDir, file)})`);
    return undefined;
  }
}

/** JSON text checked against `schema`; a problem naming the variable (never its value: it may hold secrets). */
function parseJson(text: unknown, variable: string, schema: object, problems: string[]): unknown {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(String(text));
  } catch {
    problems.push(`${variable} must be JSON (a list)`);
    return undefined;
  }
  const validate = createAjv().compile(schema);
  if (validate(value)) return value;
  problems.push(...(validate.errors ?? []).map((e) => `${variable}${e.instancePath.replaceAll('/', '.').replace(/\.(\d+)/g, '[$1]')} ${e.message ?? 'is invalid'}`));
  return undefined;
}

function repeated(values: readonly string[], what: string, hideValue = false): string[] {
  const seen = new Set<string>();
  const twice = new Set(values.filter((v) => seen.has(v) || !seen.add(v)));
  return [...twice].map((v) => (hideValue ? what.replace(/:$/, '') : `${what} ${v} twice`));
}
