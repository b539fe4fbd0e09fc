import { createHash } from 'node:crypto';
import { isEmail } from '../../../kernel/schemas.ts';
import type { BotReply } from '../bot.types.ts';
import type { TicketForm, Turn } from './dialogue.types.ts';
import { look, remember, sourceDown } from './lookups.ts';
import { listItems, settleOrder } from './form-order.ts';
import { answer, ask, P, ticketPhrase, type Phrase } from './texts.ts';

const DESCRIPTION_MAX = 10_000;
const SUBJECT_MAX = 200;

/** Starts a return or complaint form with what the first message already says. */
export function startForm(turn: Turn, kind: TicketForm['kind']): Promise<BotReply> {
  const form: TicketForm = { kind };
  fromEntities(turn, form);
  return fillForm(turn, form);
}

/**
 * One more answer to the form: whatever it names (order, product, email) fills the fields still
 * empty (another order replaces one not yet allowed), an email answers the proof asked for, else
 * it answers the question asked (the reason takes any text). A message that fills nothing asked
 * for is `undefined`: not understood, the caller decides.
 */
export async function continueForm(turn: Turn, form: TicketForm): Promise<BotReply | undefined> {
  const asked = missingField(turn, form);
  const { orderIds, emails, skus } = turn.understood.entities;
  const next: TicketForm = { ...form };
  const named = orderIds[0];
  if (named !== undefined && !form.allowed && named !== form.orderId) Object.assign(next, { orderId: named, customerRef: undefined, lines: undefined });
  if (asked === 'proof' && next.customerRef !== undefined && emails[0] !== undefined) return fillForm(turn, next);
  if (asked === 'reason' && turn.text.trim().length >= 2) next.reason = turn.text.trim();
  fromEntities(turn, next);
  // A product named that is not on the order: its items are listed (understood, so no miss).
  if (asked === 'sku' && next.sku === undefined && skus.length > 0) return listItems(turn, next, true);
  if (JSON.stringify(next) === JSON.stringify(form)) return undefined;
  return fillForm(turn, next);
}

/** The question for a field the form still needs, when the last answer filled nothing: an item not recognised lists the order's. */
export function reaskForm(turn: Turn, form: TicketForm): Promise<BotReply> | BotReply {
  const field = missingField(turn, form);
  if (field === 'sku' && form.lines !== undefined) return listItems(turn, form, false);
  turn.state.pending = { kind: 'form', form };
  if (field === 'proof') return ask(turn.lang, P.askFormProof);
  const again: Phrase = field === 'sku' ? P.itemUnknown : field === 'email' ? P.badEmail : P.askOrderNumber;
  return ask(turn.lang, again, ...(field === 'order' ? [] : [questionFor(field)]));
}

function fromEntities(turn: Turn, form: TicketForm): void {
  const { orderIds, emails } = turn.understood.entities;
  form.orderId ??= orderIds[0];
  form.sku ??= itemNamed(turn, form.lines);
  // Before the order is allowed an email is its proof, not the ticket's contact.
  if (turn.input.state.visitor?.customerId === undefined && form.allowed) form.email ??= emails.find(isEmail);
}

/**
 * The item the message names: a SKU recognised (catalogue and aliases) or, once the order's
 * items are known, one of them by SKU or by its name in the message. Undefined: none of its items.
 */
function itemNamed(turn: Turn, lines: TicketForm['lines']): string | undefined {
  const { skus } = turn.understood.entities;
  if (lines === undefined) return skus[0];
  const said = turn.text.toLowerCase();
  return skus.find((sku) => lines.some((l) => l.sku === sku)) ?? lines.find((l) => said.includes(l.name.toLowerCase()))?.sku;
}

/** A field of the form (undefined: none left); `proof`: whose the order is is not settled yet. */
export type Field = 'order' | 'proof' | 'sku' | 'reason' | 'email' | undefined;

/** Whether the message answers the form: the reason asked for (any text), or a field it still needs named (an order, a product, an email). */
export function answersForm(turn: Turn, form: TicketForm): boolean {
  const field = missingField(turn, form);
  if (field === 'reason') return true;
  const { orderIds, skus, emails } = turn.understood.entities;
  const anonymous = turn.input.state.visitor?.customerId === undefined;
  if (field === 'proof' && (emails.length > 0 || orderIds.some((id) => id !== form.orderId))) return true;
  return (form.orderId === undefined && orderIds.length > 0) || (form.sku === undefined && skus.length > 0) || (anonymous && form.email === undefined && emails.length > 0);
}

/** The field the form asks for next (undefined: complete). */
export function missingField(turn: Turn, form: TicketForm): Field {
  if (form.orderId === undefined) return 'order';
  if (!form.allowed) return 'proof';
  if (form.sku === undefined) return 'sku';
  if (form.reason === undefined) return 'reason';
  if (form.email === undefined && turn.input.state.visitor?.customerId === undefined) return 'email';
  return undefined;
}

const questionFor = (field: Field): Phrase =>
  field === 'order' ? P.askOrderNumber : field === 'proof' ? P.askFormProof : field === 'sku' ? P.askItem : field === 'reason' ? P.askReason : P.askFormEmail;

async function fillForm(turn: Turn, form: TicketForm): Promise<BotReply> {
  const { state } = turn;
  state.pending = undefined;
  if (form.orderId !== undefined && !form.allowed) {
    const stop = await settleOrder(turn, form);
    if (stop !== undefined) return stop;
  }
  if (form.orderId !== undefined) remember(state.entities.order ??= [], form.orderId);
  if (form.sku !== undefined) remember(state.entities.product ??= [], form.sku);
  if (form.sku !== undefined && form.lines !== undefined && !form.lines.some((l) => l.sku === form.sku)) return listItems(turn, { ...form, sku: undefined }, true);
  const field = missingField(turn, form);
  if (field !== undefined) {
    state.pending = { kind: 'form', form };
    return ask(turn.lang, questionFor(field));
  }
  return submit(turn, form);
}

/** The ticket: the requester by email (the verified customer's from the CRM), then the ticket, once per conversation and form. */
async function submit(turn: Turn, form: TicketForm): Promise<BotReply> {
  const { state, input } = turn;
  const email = form.email ?? (await verifiedEmail(turn));
  if (typeof email === 'object') return email;
  if (email === undefined) {
    state.pending = { kind: 'form', form };
    return ask(turn.lang, P.askFormEmail);
  }
  const requester = await look(turn, 'requester.ensure', { email }, 'nothing (the requester of a ticket)');
  if (!requester.ok) return sourceDown(turn, 'tickets', requester.code);
  const name = form.lines?.find((l) => l.sku === form.sku)?.name ?? turn.deps.catalogue.products().find((p) => p.sku === form.sku)?.name;
  const item = name === undefined ? String(form.sku) : `${name} (${form.sku})`;
  const label = form.kind === 'return' ? 'Return' : 'Complaint';
  const created = await look(turn, 'ticket.create', {
    requesterRef: (requester.result.data as { id: string }).id,
    subject: `${label}: ${item}, order ${form.orderId}`.slice(0, SUBJECT_MAX),
    description: [form.reason, '', `Order: ${form.orderId}`, `Item: ${item}`, `From chat conversation ${input.conversationId} (the built-in bot).`].join('\n').slice(0, DESCRIPTION_MAX),
    channel: 'chat',
    idempotencyKey: formRequestId(input.conversationId, form),
  }, 'ticket number, to the visitor');
  if (!created.ok) return sourceDown(turn, 'tickets', created.code);
  const ticketId = (created.result.data as { id: string }).id;
  remember(state.tickets, ticketId);
  state.notes.push(`${form.kind} ticket ${ticketId} opened for ${form.orderId} ${form.sku}`);
  return answer(turn.lang, ticketPhrase(form.kind, ticketId));
}

async function verifiedEmail(turn: Turn): Promise<string | undefined | BotReply> {
  const customerId = turn.input.state.visitor?.customerId;
  if (customerId === undefined) return undefined;
  if (turn.state.email !== undefined) return turn.state.email;
  const looked = await look(turn, 'customer.get', { id: customerId }, 'nothing (the email for a ticket), verified customer');
  if (!looked.ok) return looked.missing ? undefined : sourceDown(turn, looked.system, looked.code);
  const customer = looked.result.data as { email?: string; externalIds?: Record<string, string> };
  turn.state.email = customer.email;
  turn.state.ordersRef ??= customer.externalIds?.orders;
  return customer.email;
}

/** The ticket's client request id: the conversation and the form's content, so a repeat of the same form makes no second ticket. */
export function formRequestId(conversationId: string, form: TicketForm): string {
  const digest = createHash('sha256').update(JSON.stringify([conversationId, form.kind, form.orderId, form.sku, form.reason, form.email ?? null])).digest('base64url');
  return `bot-form-${digest.slice(0, 43)}`;
}
