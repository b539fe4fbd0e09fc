import type { Classification } from '../../chat/conversation.types.ts';
import type { UnderstandingEntry } from '../../lineage/lineage.types.ts';
import type { BotInput, BotReply } from '../bot.types.ts';
import type { ProductCatalogue, Understand, Understanding } from '../nlu.types.ts';

/** The language the bot answers in: the visitor's. */
export type Lang = 'en' | 'zh';

/** A return or complaint being filled in, field by field. */
export interface TicketForm {
  readonly kind: 'return' | 'complaint';
  orderId?: string | undefined;
  sku?: string | undefined;
  reason?: string | undefined;
  /** An anonymous visitor's contact for the ticket (the order's email, once proven). */
  email?: string | undefined;
  /** Set once the order may be filed for: the verified customer's own, or its email proven. */
  allowed?: boolean | undefined;
  /** The order's customer in the orders system while an anonymous visitor is to prove its email. */
  customerRef?: string | undefined;
  /** The order's items (SKU and name), read when whose it is was checked: the item must be one of them. */
  lines?: readonly { readonly sku: string; readonly name: string }[] | undefined;
}

/** What the bot's last question waits for: the next message answers it. */
export type Pending =
  | { readonly kind: 'pick_order'; readonly options: readonly string[] }
  | { readonly kind: 'order_number' }
  | { readonly kind: 'order_email'; readonly orderId: string; readonly customerRef: string }
  | { readonly kind: 'form'; readonly form: TicketForm }
  | { readonly kind: 'offer_human'; readonly source: string };

/**
 * What the built-in bot remembers of one conversation between messages (kept by the bot's
 * memory; plain JSON). `handledSeq`/`reply` make a repeat of the same message (the job ran again
 * after the node died) answer what it answered the first time, without asking again.
 */
export interface DialogueState {
  handledSeq?: number | undefined;
  reply?: BotReply | undefined;
  lang?: Lang | undefined;
  /** Messages in a row it did not understand. */
  misses: number;
  pending?: Pending | undefined;
  /** Order numbers an unverified visitor tried without proving them (walking). */
  unproven: string[];
  /** Set once walking was refused: the next order look-up hands over. */
  walkingRefused?: boolean | undefined;
  /** Emails given as proof that did not match (guessing an order's email is refused too). */
  wrongEmails?: number | undefined;
  /** Orders whose email the visitor proved. */
  proven: string[];
  /** The verified customer's id in the orders system, once read from the CRM. */
  ordersRef?: string | undefined;
  /** The verified customer's email, once read from the CRM. */
  email?: string | undefined;
  /** The topic it settled on (the intent of the last understood request). */
  intent?: string | undefined;
  /** Everything recognised so far, by kind (`order`, `product`, `email`). */
  entities: Record<string, string[]>;
  /** The orders it read, in order. */
  orders: string[];
  /** Tickets it opened. */
  tickets: string[];
  /** Short notes for the summary: `ORD-0001234 shipped`. */
  notes: string[];
}

/** A fresh conversation's dialogue state. */
export const freshDialogue = (): DialogueState => ({ misses: 0, unproven: [], proven: [], entities: {}, orders: [], tickets: [], notes: [] });

/** Where the dialogue state of a conversation is kept between messages (bot-core's BotMemory). */
export interface DialogueMemory {
  load(conversationId: string): Promise<DialogueState | undefined>;
  save(conversationId: string, state: DialogueState): Promise<void>;
}

/** The knowledge file's answer to one FAQ entry in a language, if it has one. */
export type FaqAnswers = (faqId: string, lang: Lang) => string | undefined;

/** What the dialogues need, each injected (the gateway's `createBuiltinBot` builds them from the bot runtime's deps). */
export interface DialogueDeps {
  readonly understand: Understand;
  readonly catalogue: ProductCatalogue;
  readonly faq: FaqAnswers;
  readonly memory: DialogueMemory;
  /** Routing's `bot.*` facts from what the visitor said (keyword intents and the language). */
  readonly classify: (said: readonly string[], language: string | undefined) => Classification;
  /** Below this an understanding counts as not understood. Default 0.5. */
  readonly minConfidence?: number;
  /** Different order numbers an unverified visitor may try without proof before the bot refuses. Default 3. */
  readonly maxUnprovenOrders?: number;
  /** Records what the bot made of a message (lineage's `understood`); absent: not recorded. */
  readonly understood?: (entry: UnderstandingEntry) => Promise<void>;
  /** Now (epoch ms). */
  readonly now?: () => number;
}

/** One visitor message being answered: the input, what it means, and the state it may change. */
export interface Turn {
  readonly input: BotInput;
  readonly text: string;
  readonly understood: Understanding;
  readonly lang: Lang;
  readonly state: DialogueState;
  readonly deps: DialogueDeps;
}
