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
  /** `OMNIGATE_CHAT_BOT`: `none` (new conversations go straight to the queue) or `builtin` (the small rule bot). */
  readonly bot: 'none' | 'builtin';
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
    OMNIGATE_CHAT_BOT: { enum: ['none', 'builtin'], default: 'none' },
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
