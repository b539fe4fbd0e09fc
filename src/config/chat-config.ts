import { resolve } from 'node:path';
import { readEnvArea } from './env-area.ts';

/** A visitor who says nothing this long (while waiting, or after the agent's last word) loses the conversation. */
export const DEFAULT_CHAT_VISITOR_IDLE_MS = 10 * 60_000;
/** An assigned conversation the agent does not answer this long goes back to the queue. */
export const DEFAULT_CHAT_AGENT_ANSWER_MS = 3 * 60_000;
/** A closed conversation may be reopened this long after it closed. */
export const DEFAULT_CHAT_REOPEN_WINDOW_MS = 24 * 60 * 60_000;
/** A closed conversation's events are kept this long, then only its final state. */
export const DEFAULT_CHAT_RETENTION_MS = 30 * 24 * 60 * 60_000;
export const DEFAULT_CHAT_MAX_OPEN_PER_VISITOR = 3;

/** The chat's settings (`OMNIGATE_CHAT_*`), parsed once and frozen. Durations in ms, so tests can make every timer short. */
export interface ChatConfig {
  /** `OMNIGATE_CHAT_VISITOR_IDLE_MS`: a waiting visitor this silent abandons; an assigned one this silent after the agent spoke is closed as idle. */
  readonly visitorIdleMs: number;
  /** `OMNIGATE_CHAT_AGENT_ANSWER_MS`: an assigned conversation whose visitor waits this long for the agent is queued again. */
  readonly agentAnswerMs: number;
  /** `OMNIGATE_CHAT_REOPEN_WINDOW_MS`: how long after its close a conversation may be reopened. */
  readonly reopenWindowMs: number;
  /** `OMNIGATE_CHAT_RETENTION_MS`: how long a closed conversation's events are kept (its final state stays). */
  readonly retentionMs: number;
  /** `OMNIGATE_CHAT_MAX_OPEN_PER_VISITOR`: open conversations one visitor may have at once. */
  readonly maxOpenPerVisitor: number;
  /** `OMNIGATE_CHAT_BOT`: `none` (new conversations go straight to the queue), `builtin` (the built-in dialogue bot) or `webhook` (an external bot service, see BotConfig). */
  readonly bot: 'none' | 'builtin' | 'webhook';
}

const DAY_MS = 24 * 60 * 60_000;
const SCHEMA = {
  type: 'object',
  properties: {
    OMNIGATE_CHAT_VISITOR_IDLE_MS: { type: 'integer', minimum: 10, maximum: 30 * DAY_MS, default: DEFAULT_CHAT_VISITOR_IDLE_MS },
    OMNIGATE_CHAT_AGENT_ANSWER_MS: { type: 'integer', minimum: 10, maximum: 30 * DAY_MS, default: DEFAULT_CHAT_AGENT_ANSWER_MS },
    OMNIGATE_CHAT_REOPEN_WINDOW_MS: { type: 'integer', minimum: 0, maximum: 365 * DAY_MS, default: DEFAULT_CHAT_REOPEN_WINDOW_MS },
    OMNIGATE_CHAT_RETENTION_MS: { type: 'integer', minimum: 1_000, maximum: 3_650 * DAY_MS, default: DEFAULT_CHAT_RETENTION_MS },
    OMNIGATE_CHAT_MAX_OPEN_PER_VISITOR: { type: 'integer', minimum: 1, maximum: 1_000, default: DEFAULT_CHAT_MAX_OPEN_PER_VISITOR },
    OMNIGATE_CHAT_BOT: { enum: ['none', 'builtin', 'webhook'], default: 'none' },
  },
} as const;

/** The chat settings from the environment, or every problem with them (each naming its variable). */
export function parseChatConfig(env: NodeJS.ProcessEnv): { config: ChatConfig; problems?: never } | { config?: never; problems: string[] } {
  const { raw, problems } = readEnvArea(env, SCHEMA);
  if (problems.length > 0) return { problems };
  return {
    config: Object.freeze({
      visitorIdleMs: raw.OMNIGATE_CHAT_VISITOR_IDLE_MS as number,
      agentAnswerMs: raw.OMNIGATE_CHAT_AGENT_ANSWER_MS as number,
      reopenWindowMs: raw.OMNIGATE_CHAT_REOPEN_WINDOW_MS as number,
      retentionMs: raw.OMNIGATE_CHAT_RETENTION_MS as number,
      maxOpenPerVisitor: raw.OMNIGATE_CHAT_MAX_OPEN_PER_VISITOR as number,
      bot: raw.OMNIGATE_CHAT_BOT as ChatConfig['bot'],
    }),
  };
}

/** The webhook bot waits this long for the external bot service's answer, then hands over (`bot_failed`). */
export const DEFAULT_BOT_WEBHOOK_TIMEOUT_MS = 5_000;
/** A bot job holds its conversation this long (renewed while it runs): a node that dies lets it go after this. */
export const DEFAULT_BOT_LOCK_MS = 30_000;
/** Attempts of one bot job (a message): a busy conversation (an earlier message still being answered) counts one. */
export const DEFAULT_BOT_JOB_ATTEMPTS = 20;
/** The first wait before a bot job's next attempt (it doubles per attempt, capped). */
export const DEFAULT_BOT_JOB_BACKOFF_MS = 200;
/** The built-in bot's per-conversation memory lasts this long after its last write. */
export const DEFAULT_BOT_MEMORY_TTL_MS = 24 * 60 * 60_000;
export const DEFAULT_BOT_DATA_DIR = 'config/bot';

/** How bots run (`OMNIGATE_BOT_*`): the webhook bot's service, the built-in bot's data, the jobs that answer messages. */
export interface BotConfig {
  /** `OMNIGATE_BOT_WEBHOOK_URL`, `OMNIGATE_BOT_WEBHOOK_SECRET`, `OMNIGATE_BOT_WEBHOOK_TIMEOUT_MS`: required with `OMNIGATE_CHAT_BOT=webhook`. */
  readonly webhook?: {
    /** Where the signed requests are POSTed (http or https). */
    readonly url: string;
    /** The HMAC-SHA256 key of the requests' signatures (`whsec_<base64>` is used as the bytes it encodes). Secret: redacted from logs. */
    readonly secret: string;
    readonly timeoutMs: number;
  };
  /** `OMNIGATE_BOT_DATA_DIR`: the built-in bot's intents, entities and FAQ (absolute), reloaded on change. */
  readonly dataDir: string;
  /** `OMNIGATE_BOT_LOCK_MS`: how long a bot job holds its conversation (renewed while it runs). */
  readonly lockMs: number;
  /** `OMNIGATE_BOT_JOB_ATTEMPTS`, `OMNIGATE_BOT_JOB_BACKOFF_MS`: a message's job is tried this often, this far apart at first. */
  readonly jobAttempts: number;
  readonly jobBackoffMs: number;
  /** `OMNIGATE_BOT_MEMORY_TTL_MS`: how long the built-in bot remembers a dialogue after its last turn. */
  readonly memoryTtlMs: number;
}

const BOT_SCHEMA = {
  type: 'object',
  properties: {
    OMNIGATE_BOT_WEBHOOK_URL: { type: 'string', pattern: '^https?://[^\\s]+$' },
    OMNIGATE_BOT_WEBHOOK_SECRET: { type: 'string', minLength: 16 },
    OMNIGATE_BOT_WEBHOOK_TIMEOUT_MS: { type: 'integer', minimum: 10, maximum: 120_000, default: DEFAULT_BOT_WEBHOOK_TIMEOUT_MS },
    OMNIGATE_BOT_DATA_DIR: { type: 'string', default: DEFAULT_BOT_DATA_DIR },
    OMNIGATE_BOT_LOCK_MS: { type: 'integer', minimum: 100, maximum: 600_000, default: DEFAULT_BOT_LOCK_MS },
    OMNIGATE_BOT_JOB_ATTEMPTS: { type: 'integer', minimum: 1, maximum: 1_000, default: DEFAULT_BOT_JOB_ATTEMPTS },
    OMNIGATE_BOT_JOB_BACKOFF_MS: { type: 'integer', minimum: 1, maximum: 60_000, default: DEFAULT_BOT_JOB_BACKOFF_MS },
    OMNIGATE_BOT_MEMORY_TTL_MS: { type: 'integer', minimum: 1_000, maximum: 30 * DAY_MS, default: DEFAULT_BOT_MEMORY_TTL_MS },
  },
} as const;

const BOT_MESSAGES: Readonly<Record<string, string>> = {
  OMNIGATE_BOT_WEBHOOK_URL: 'must be an http(s) URL',
  OMNIGATE_BOT_WEBHOOK_SECRET: 'must be at least 16 characters',
};

/** The bot settings from the environment (the data dir resolved against `rootDir`), or every problem with them. The webhook's are required when `OMNIGATE_CHAT_BOT=webhook`. */
export function parseBotConfig(env: NodeJS.ProcessEnv, rootDir: string): { config: BotConfig; problems?: never } | { config?: never; problems: string[] } {
  const { raw, problems } = readEnvArea(env, BOT_SCHEMA, BOT_MESSAGES);
  const isWebhook = env.OMNIGATE_CHAT_BOT === 'webhook';
  for (const name of ['OMNIGATE_BOT_WEBHOOK_URL', 'OMNIGATE_BOT_WEBHOOK_SECRET'] as const) {
    if (isWebhook && raw[name] === undefined) problems.push(`${name} is required with OMNIGATE_CHAT_BOT=webhook`);
  }
  if (problems.length > 0) return { problems };
  const url = raw.OMNIGATE_BOT_WEBHOOK_URL as string | undefined;
  const secret = raw.OMNIGATE_BOT_WEBHOOK_SECRET as string | undefined;
  return {
    config: Object.freeze({
      ...(url !== undefined && secret !== undefined ? { webhook: Object.freeze({ url, secret, timeoutMs: raw.OMNIGATE_BOT_WEBHOOK_TIMEOUT_MS as number }) } : {}),
      dataDir: resolve(rootDir, raw.OMNIGATE_BOT_DATA_DIR as string),
      lockMs: raw.OMNIGATE_BOT_LOCK_MS as number,
      jobAttempts: raw.OMNIGATE_BOT_JOB_ATTEMPTS as number,
      jobBackoffMs: raw.OMNIGATE_BOT_JOB_BACKOFF_MS as number,
      memoryTtlMs: raw.OMNIGATE_BOT_MEMORY_TTL_MS as number,
    }),
  };
}

/** The bot settings' secrets, for the log redaction. */
export const botSecrets = (config: BotConfig): string[] => (config.webhook ? [config.webhook.secret] : []);
