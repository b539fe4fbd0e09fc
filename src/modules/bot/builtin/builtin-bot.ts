import type { Bot, BotReply } from '../bot.types.ts';
import type { Understanding } from '../nlu.types.ts';
import { freshDialogue, type DialogueDeps, type DialogueState, type Lang, type Pending, type Turn } from './dialogue.types.ts';
import { handover } from './handover.ts';
import { remember } from './lookups.ts';
import { lookUpOrder, orderStatus, pickOrder, proveEmail } from './order-status.ts';
import { answersForm, continueForm, reaskForm, startForm } from './return-form.ts';
import { answer, ask, isNo, isYes, P } from './texts.ts';

/** The understanding applies its own threshold (intents.json): anything but `none` is understood unless the bot is told otherwise. */
const DEFAULT_MIN_CONFIDENCE = 0;
/** Misunderstood messages in a row after which the bot hands over. */
const MAX_MISSES = 2;
const HAN = /\p{Script=Han}/u;

/**
 * The built-in bot (`OMNIGATE_CHAT_BOT=builtin`): order status (with its privacy rules), a return
 * or complaint form that ends in a ticket, FAQ answers, and a handover to a person when asked, when
 * it failed to understand twice in a row, or when a source it needs is down and the visitor wants
 * one. It answers in the visitor's language; it reads business data only through the
 * conversation's attributed query API; what it needs across messages is in `deps.memory`.
 */
export function createDialogueBot(deps: DialogueDeps): Bot {
  return {
    name: 'builtin',
    async reply(input) {
      const { message } = input;
      if (message.data.contentType !== 'text') return { kind: 'nothing' };
      const state = (await deps.memory.load(input.conversationId)) ?? freshDialogue();
      // The job ran again for a message already answered: the same answer (its appends are idempotent).
      if (state.handledSeq === message.seq && state.reply !== undefined) return state.reply;
      const text = message.data.text;
      const understood = deps.understand(text, deps.catalogue.products());
      const lang = languageOf(text, state, input.state.language);
      await deps.understood?.({
        // One entry per message: a repeat of its job records the same one again.
        id: `und_${input.conversationId}_${message.seq}`, at: new Date(deps.now?.() ?? Date.now()).toISOString(), conversationId: input.conversationId,
        messageSeq: message.seq, actor: input.queries.attribution.actor, intent: understood.intent, confidence: understood.confidence,
        entities: { order: understood.entities.orderIds, product: understood.entities.skus, email: understood.entities.emails }, traceId: input.traceId,
      });
      const turn: Turn = { input, text, understood, lang, state, deps };
      state.lang = lang;
      mergeEntities(state, understood);
      const reply = await route(turn);
      state.handledSeq = message.seq;
      state.reply = reply;
      await deps.memory.save(input.conversationId, state);
      return reply;
    },
  };
}

async function route(turn: Turn): Promise<BotReply> {
  const { understood, state } = turn;
  if (asksForPerson(turn)) return handover(turn, 'visitor_asked');
  const pending = state.pending;
  if (pending?.kind === 'offer_human' && isYes(turn.text)) return handover(turn, 'source_down');
  if (pending?.kind === 'offer_human' && isNo(turn.text)) {
    state.pending = undefined;
    return answer(turn.lang, P.declined);
  }
  const confident = understood.intent !== 'none' && understood.confidence >= (turn.deps.minConfidence ?? DEFAULT_MIN_CONFIDENCE);
  // A clear new request leaves the question asked; anything else is read as its answer. In a form,
  // the reason asked for is whatever the visitor says, a field it needs named answers it ("ORD-…"
  // alone reads as order status), and talk of returns or complaints fills it in.
  const inForm = pending?.kind === 'form' && (understood.intent === 'return' || understood.intent === 'complaint' || answersForm(turn, pending.form));
  const switching = confident && !inForm;
  if (pending !== undefined && pending.kind !== 'offer_human' && !switching) {
    const answered = await answerPending(turn);
    if (answered !== undefined) {
      state.misses = 0;
      return answered;
    }
    return missed(turn, () => reask(turn, pending));
  }
  state.pending = undefined;
  const orderId = understood.entities.orderIds[0];
  if (!confident && orderId !== undefined) return understoodAs(turn, 'order_status', () => lookUpOrder(turn, orderId));
  if (!confident) return missed(turn);
  switch (understood.intent) {
    case 'order_status':
      return understoodAs(turn, 'order_status', () => orderStatus(turn));
    case 'return':
    case 'complaint': {
      const kind = understood.intent;
      return understoodAs(turn, kind, () => startForm(turn, kind));
    }
    case 'faq': {
      const reply = understood.faqId === undefined ? undefined : turn.deps.faq(understood.faqId, turn.lang);
      if (reply === undefined) return missed(turn);
      return understoodAs(turn, 'faq', () => {
        turn.state.notes.push(`FAQ ${understood.faqId}`);
        return { kind: 'answer', messages: [{ contentType: 'text', text: reply }] };
      });
    }
    case 'greeting':
      state.misses = 0;
      return answer(turn.lang, P.greeting);
    case 'thanks':
      state.misses = 0;
      return answer(turn.lang, P.thanks);
    default:
      return missed(turn);
  }
}

/**
 * A person asked for anywhere in the message: the whole reads as handoff, or one of its clauses
 * does ("where is my order? agent" reads as order status as a whole).
 */
function asksForPerson(turn: Turn): boolean {
  if (turn.understood.intent === 'handoff') return true;
  const clauses = turn.text.split(/[?!.,;:\n？！。，；：、]+/u).map((c) => c.trim()).filter((c) => c !== '');
  if (clauses.length < 2) return false;
  const products = turn.deps.catalogue.products();
  return clauses.some((clause) => turn.deps.understand(clause, products).intent === 'handoff');
}

/** The next message after a question: the order picked, the number, the email, the form's next field. */
async function answerPending(turn: Turn): Promise<BotReply | undefined> {
  const { pending } = turn.state;
  const { orderIds, emails } = turn.understood.entities;
  switch (pending?.kind) {
    case 'pick_order':
      return pickOrder(turn, pending);
    case 'order_number':
      return orderIds[0] === undefined ? undefined : lookUpOrder(turn, orderIds[0]);
    case 'order_email':
      if (emails[0] !== undefined) return proveEmail(turn, pending, emails[0]);
      return orderIds[0] !== undefined && orderIds[0] !== pending.orderId ? lookUpOrder(turn, orderIds[0]) : undefined;
    case 'form':
      return continueForm(turn, pending.form);
    default:
      return undefined;
  }
}

async function understoodAs(turn: Turn, intent: string, then: () => Promise<BotReply> | BotReply): Promise<BotReply> {
  turn.state.misses = 0;
  turn.state.intent = intent;
  return then();
}

/** The question asked again, when the answer did not fit it. */
function reask(turn: Turn, pending: Pending): Promise<BotReply> | BotReply | undefined {
  switch (pending.kind) {
    case 'form':
      return reaskForm(turn, pending.form);
    case 'order_email':
      return ask(turn.lang, P.askEmail);
    case 'order_number':
      return ask(turn.lang, P.askOrderNumber);
    default:
      return undefined;
  }
}

/** Not understood: said so (or the question asked `again`), and handed over the second time in a row. */
async function missed(turn: Turn, again?: () => Promise<BotReply> | BotReply | undefined): Promise<BotReply> {
  turn.state.misses += 1;
  if (turn.state.misses >= MAX_MISSES) {
    turn.state.notes.push(`did not understand "${turn.text.slice(0, 60)}"`);
    return handover(turn, 'not_understood');
  }
  return (await again?.()) ?? ask(turn.lang, P.notUnderstood);
}

function mergeEntities(state: DialogueState, understood: Understanding): void {
  const { orderIds, skus, emails } = understood.entities;
  if (orderIds.length > 0) remember(state.entities.order ??= [], ...orderIds);
  if (skus.length > 0) remember(state.entities.product ??= [], ...skus);
  if (emails.length > 0) remember(state.entities.email ??= [], ...emails);
}

/**
 * The visitor's language: Chinese when the message has Han script, English when it has words in
 * Latin letters (order numbers and emails aside); a bare number or email keeps the last one.
 */
export function languageOf(text: string, state: DialogueState, conversationLanguage: string | undefined): Lang {
  if (HAN.test(text)) return 'zh';
  const words = text.replace(/\S+@\S+/g, ' ').replace(/ORD-?\d+/gi, ' ');
  if (/[a-z]{2,}/i.test(words)) return 'en';
  return state.lang ?? (conversationLanguage?.startsWith('zh') ? 'zh' : 'en');
}
