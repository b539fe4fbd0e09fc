import type { BotConfig, ChatConfig } from '../../config/chat-config.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { SchemaRegistry } from '../../kernel/schemas.ts';
import type { BlobStore } from '../../ports/blob-store.ts';
import type { LeaseStore } from '../../ports/lease-store.ts';
import type { BotAccess } from '../chat/conversations.service.ts';
import type { JobQueues } from '../jobs/job-queues.ts';
import type { QueryService } from '../query/query.service.ts';
import { createBotRunner, type BotRunner } from './bot-jobs.ts';
import { createBotMemory, type BotMemory } from './bot-memory.ts';
import type { Bot } from './bot.types.ts';
import { createBuiltinBot } from './builtin-bot.ts';
import type { BuiltinBotDeps } from './builtin-bot.types.ts';
import { createBotKnowledge } from './nlu/bot-knowledge.ts';
import type { ProductCatalogue } from './nlu.types.ts';
import { BOT_REPLY_SCHEMA_ID, createWebhookBot } from './webhook-bot.ts';

/** What the configured bot and its jobs are built from (the composition root's). */
export interface BotRuntimeDeps {
  readonly chat: Pick<ChatConfig, 'bot' | 'retentionMs' | 'visitorIdleMs'>;
  readonly bot: BotConfig;
  readonly schemas: SchemaRegistry;
  readonly log: Logger;
  readonly jobs: JobQueues;
  /** The query service as wired (the lineage recorder around it). */
  readonly query: QueryService;
  readonly leases: LeaseStore;
  /** Durable blobs (Redis): the bot memory and each conversation's answered seq. */
  readonly blobs: BlobStore;
  /** The conversations service's bot access (given late: the service takes the runner). */
  readonly conversations: () => BotAccess | undefined;
  /** The built-in bot's product dictionary (required with `OMNIGATE_CHAT_BOT=builtin`). */
  readonly catalogue?: ProductCatalogue;
  /** Records what the built-in bot made of each message (the lineage recorder's). */
  readonly understood?: BuiltinBotDeps['understood'];
}

/** The configured bot, run as jobs (absent with `OMNIGATE_CHAT_BOT=none`), and the bot memory. */
export interface BotRuntime {
  readonly runner?: BotRunner;
  readonly memory: BotMemory;
  /** Stops watching the built-in bot's data folder. */
  close(): void;
}

/** The configured bot (`OMNIGATE_CHAT_BOT`): none (new conversations go straight to the queue), the built-in one, or the webhook bot. */
export function botFor(deps: Pick<BotRuntimeDeps, 'chat' | 'bot' | 'schemas' | 'log'>, builtin?: () => Bot): Bot | undefined {
  switch (deps.chat.bot) {
    case 'none':
      return undefined;
    case 'builtin':
      if (!builtin) throw new Error('OMNIGATE_CHAT_BOT=builtin needs the product catalogue');
      return builtin();
    case 'webhook': {
      const webhook = deps.bot.webhook;
      const validate = deps.schemas.ajv.getSchema(BOT_REPLY_SCHEMA_ID);
      // The config check requires both with OMNIGATE_CHAT_BOT=webhook; the schema ships with the gateway.
      if (!webhook || !validate) throw new Error('OMNIGATE_CHAT_BOT=webhook needs OMNIGATE_BOT_WEBHOOK_URL, OMNIGATE_BOT_WEBHOOK_SECRET and schemas/bot-reply.schema.json');
      return createWebhookBot({ ...webhook, validate, log: deps.log });
    }
  }
}

/** The bot memory, the configured bot and the runner of its jobs. */
export function createBotRuntime(deps: BotRuntimeDeps): BotRuntime {
  const memory = createBotMemory({ blobs: deps.blobs, ttlMs: deps.bot.memoryTtlMs });
  // Its data folder is read at start: a bad one stops the start (BotDataError lists every problem).
  const knowledge = deps.chat.bot === 'builtin' && deps.catalogue ? createBotKnowledge({ dir: deps.bot.dataDir, log: deps.log }) : undefined;
  const close = () => knowledge?.close();
  const { catalogue, understood } = deps;
  const bot = botFor(deps, knowledge && catalogue && (() => createBuiltinBot({ log: deps.log, knowledge, catalogue, memory, ...(understood ? { understood } : {}), now: Date.now })));
  if (!bot) return { memory, close };
  const runner = createBotRunner({
    jobs: deps.jobs, bot, query: deps.query, leases: deps.leases, progress: deps.blobs, log: deps.log,
    conversations: () => {
      const access = deps.conversations();
      if (!access) throw new Error('the conversations service was built without the bot');
      return access;
    },
    lockMs: deps.bot.lockMs, attempts: deps.bot.jobAttempts, backoffMs: deps.bot.jobBackoffMs,
    // Progress outlives any stay in state `bot` (the visitor idles out long before).
    keepMs: deps.chat.retentionMs + deps.chat.visitorIdleMs,
  });
  return { runner, memory, close };
}
