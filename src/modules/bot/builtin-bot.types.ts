import type { Logger } from '../../kernel/logger.ts';
import type { UnderstandingEntry } from '../lineage/lineage.types.ts';
import type { BotMemory } from './bot-memory.ts';
import type { Bot } from './bot.types.ts';
import type { BotKnowledge } from './nlu/bot-knowledge.ts';
import type { ProductCatalogue } from './nlu.types.ts';

/**
 * What the composition root hands the built-in dialogue bot (`OMNIGATE_CHAT_BOT=builtin`).
 * Business data is reached only through each message's `BotInput.queries` (the query API,
 * attributed to the conversation and message): there is deliberately no raw query service here.
 */
export interface BuiltinBotDeps {
  readonly log: Logger;
  /** Understanding and FAQ answers from OMNIGATE_BOT_DATA_DIR, reloaded on change (the nlu's createBotKnowledge). */
  readonly knowledge: Pick<BotKnowledge, 'understand' | 'faqAnswer'>;
  /** The products as the orders system lists them (`product.list`, refreshed on a schedule): the dictionary of product names. */
  readonly catalogue: ProductCatalogue;
  /** The dialogue's state between messages (a form half filled in, order numbers tried), per conversation, shared by every node. */
  readonly memory: BotMemory;
  /** Records what the bot made of a message (the lineage recorder's `recordUnderstanding`); absent: not recorded. */
  readonly understood?: (entry: UnderstandingEntry) => Promise<void>;
  readonly now: () => number;
}

/**
 * The built-in bot's factory (`createBuiltinBot` in src/modules/bot/builtin-bot.ts, over the
 * dialogues of src/modules/bot/builtin/); its `name` is `builtin`. `reply` may throw a retryable
 * AppError (STORE_UNAVAILABLE …): the message's job is tried again; any other failure hands over
 * (`bot_failed`). A source that is down is not a failure: the bot says so and offers a person.
 */
export type CreateBuiltinBot = (deps: BuiltinBotDeps) => Bot;
