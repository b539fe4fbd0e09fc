import type { Classification, ConversationEvent, ConversationState, MessageContent } from './conversation.types.ts';

/**
 * What a bot does in answer to a visitor's message: say something, note a finding for the agents,
 * or hand over to a person, with what it made of the conversation (routing's `bot.*` facts).
 */
export type BotAction =
  | { readonly type: 'send'; readonly content: MessageContent }
  | { readonly type: 'note'; readonly content: MessageContent }
  | { readonly type: 'handover'; readonly reason?: string; readonly classification?: Classification };

/** What a bot is given for one visitor message. */
export interface BotInput {
  readonly conversationId: string;
  readonly state: ConversationState;
  readonly message: Extract<ConversationEvent, { type: 'conversation.message_sent' }>;
  /** The visitor's earlier public text messages of this conversation, oldest first (read from its stream only when asked). */
  readonly earlier: () => Promise<readonly string[]>;
}

/** The bot seam: a conversation in state `bot` is answered by it until it (or the visitor) hands over. */
export interface Bot {
  /** Its name, recorded in `conversation.bot_engaged` and as the author of its messages. */
  readonly name: string;
  /** Its answer to one public visitor message; its actions are appended in order, as the bot. */
  reply(input: BotInput): Promise<BotAction[]>;
}

/** Words after which the built-in bot hands over to a person. */
const HANDOVER = /\b(agent|human|person)\b|转人工/i;

/** The built-in bot's intents, first match wins; a visitor who said none of these words is `other`. */
const INTENTS: readonly (readonly [intent: string, words: RegExp])[] = [
  ['orders', /\b(orders?|deliver(y|ed)?|ship(ping|ped|ment)?|parcels?|packages?|track(ing)?|returns?)\b|订单|快递|物流|退货/i],
  ['billing', /\b(invoices?|bill(ing|ed)?|payments?|paid|pay|charged?|refunds?|prices?)\b|发票|付款|退款/i],
  ['account', /\b(accounts?|passwords?|log ?in|sign ?in|username|e-?mail address)\b|账号|账户|密码|登录/i],
];

/** Han script, for a visitor who writes Chinese in a conversation of no stated language. */
const HAN = /\p{Script=Han}/u;

/**
 * What the built-in bot makes of a conversation: the intent of the latest of the visitor's texts
 * that names one (keywords only: orders, billing, account, else `other`), and the language the
 * widget gave the conversation, else `zh` when the visitor wrote Han characters, else none (it
 * does not guess). No skills: nothing here knows them.
 */
export function classify(said: readonly string[], language: string | undefined): Classification {
  const intent = [...said].reverse().map((text) => INTENTS.find(([, words]) => words.test(text))?.[0]).find((found) => found !== undefined) ?? 'other';
  const lang = language ?? (said.some((text) => HAN.test(text)) ? 'zh' : undefined);
  return { intent, ...(lang === undefined ? {} : { language: lang }) };
}

/**
 * A tiny rule bot (`OMNIGATE_CHAT_BOT=builtin`): it greets, and hands over on "agent" or "转人工"
 * with a note for the agents and its classification of what the visitor said (see `classify`).
 */
export function createRuleBot(): Bot {
  return {
    name: 'builtin',
    async reply({ state, message, earlier }) {
      const text = message.data.contentType === 'text' ? message.data.text : '';
      if (HANDOVER.test(text)) {
        const classification = classify([...(await earlier()), text], state.language);
        return [
          { type: 'note', content: { contentType: 'text', text: `bot finding: the visitor asked for a person (intent ${classification.intent})` } },
          { type: 'handover', reason: 'visitor_asked', classification },
        ];
      }
      return [{ type: 'send', content: { contentType: 'text', text: 'I am the Omnigate bot. Say "agent" (or 转人工) to talk to a person.' } }];
    },
  };
}

/** The configured bot: none (new conversations go straight to the queue) or the built-in one. */
export const botFor = (kind: 'none' | 'builtin'): Bot | undefined => (kind === 'builtin' ? createRuleBot() : undefined);
