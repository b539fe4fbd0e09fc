import type { Logger } from '../../kernel/logger.ts';
import type { UnderstandingEntry } from '../lineage/lineage.types.ts';
import type { BotMemory } from './bot-memory.ts';
import type { Bot } from './bot.types.ts';
import type { ProductCatalogue, Understand } from './nlu.types.ts';

/** What the built-in bot knows from its data files (OMNIGATE_BOT_DATA_DIR, reloaded on change): the nlu helper's. */
export interface BotKnowledge {
  /** Understands one message with the intents and entities as loaded now; the bot passes the catalogue's products. */
  readonly understand: Understand;
  /** The answer of a FAQ entry (`shipping_time`) in a language, or undefined for an id the knowledge file does not have. */
  faqAnswer(id: string, language: 'en' | 'zh'): string | undefined;
}

/**
 * What the composition root hands the built-in dialogue bot (`OMNIGATE_CHAT_BOT=builtin`).
 * Business data is reached only through each message's `BotInput.queries` (the query API,
 * attributed to the conversation and message): there is deliberately no raw query service here.
 */
export interface BuiltinBotDeps {
  readonly log: Logger;
  readonly knowledge: BotKnowledge;
  /** The products as the orders system lists them (`product.list`, refreshed on a schedule): the dictionary of product names. */
  readonly catalogue: ProductCatalogue;
  /** The dialogue's state between messages (a form half filled in, order numbers tried), per conversation, shared by every node. */
  readonly memory: BotMemory;
  /** Records what the bot made of a message (lineage's `understood`); absent: not recorded. */
  readonly understood?: (entry: UnderstandingEntry) => Promise<void>;
  readonly now: () => number;
}

/**
 * The factory the built-in bot exports as `createBuiltinBot` from
 * `src/modules/bot/builtin/builtin-bot.ts`; its `name` is `builtin` (routing and the stream
 * know the bot by it). `reply` may throw a retryable AppError (STORE_UNAVAILABLE …): the message's
 * job is tried again; any other failure hands over (`bot_failed`). A source that is down is not a
 * failure: the bot says so and offers a person (reason `source_down`).
 */
export type CreateBuiltinBot = (deps: BuiltinBotDeps) => Bot;
