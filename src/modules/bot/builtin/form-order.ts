import { isEmail } from '../../../kernel/schemas.ts';
import type { BotReply } from '../bot.types.ts';
import type { TicketForm, Turn } from './dialogue.types.ts';
import { look, remember, sourceDown } from './lookups.ts';
import { checkOrder, provesOrder, type Order } from './order-access.ts';
import { ask, itemNotOnOrderPhrase, notFoundPhrase, notYourOrderPhrase, P } from './texts.ts';

const linesOf = (order: Order): TicketForm['lines'] => order.lines.map((l) => ({ sku: l.sku, name: l.name }));

/** The form waits for its next answer, the order named forgotten when `forget` (it may not be filed for). */
function waiting(turn: Turn, form: TicketForm, forget = false): void {
  if (forget) Object.assign(form, { orderId: undefined, customerRef: undefined, lines: undefined });
  turn.state.pending = { kind: 'form', form };
}

/**
 * Settles whether the form's order may be filed for, with the same rule (and the same code) as
 * order status: a verified customer only for an own order; an anonymous visitor once the order's
 * email is proven (with an email in this message, now; else it is asked for); every number that
 * is not the visitor's counts against the walking limit. Allowed, the form gets the order's items
 * and `undefined` is returned (the form goes on); otherwise the reply that ends the turn. `form`
 * is updated in place.
 */
export async function settleOrder(turn: Turn, form: TicketForm): Promise<BotReply | undefined> {
  const orderId = form.orderId;
  if (orderId === undefined || form.allowed) return undefined;
  const verified = turn.input.state.visitor?.customerId !== undefined;
  if (form.customerRef === undefined) {
    const access = await checkOrder(turn, orderId);
    if (access.kind === 'refused') {
      // Walking refused: the form still waits for an order (trying again hands over); a person or a source down ends it.
      if (turn.state.pending === undefined && access.reply.kind !== 'handover') waiting(turn, form, true);
      return access.reply;
    }
    if (access.kind === 'missing') {
      waiting(turn, form, true);
      return ask(turn.lang, notFoundPhrase(orderId), P.askOrderNumber);
    }
    remember(turn.state.orders, orderId);
    if (access.kind === 'own' || (access.kind === 'proven' && !verified)) {
      Object.assign(form, { allowed: true, lines: linesOf(access.order) });
      return undefined;
    }
    if (verified) {
      turn.state.notes.push(`${orderId} is not theirs: no ${form.kind}`);
      waiting(turn, form, true);
      return ask(turn.lang, notYourOrderPhrase(orderId));
    }
    Object.assign(form, { customerRef: access.order.customerRef, lines: linesOf(access.order) });
  }
  // Only an address the tickets system takes can become the ticket's contact (the Requester schema's check).
  const email = turn.understood.entities.emails.find(isEmail);
  if (email === undefined || form.customerRef === undefined) {
    waiting(turn, form);
    return ask(turn.lang, P.askFormProof);
  }
  const proof = await provesOrder(turn, orderId, form.customerRef, email);
  if (typeof proof === 'object') return proof;
  if (proof === 'mismatch') {
    waiting(turn, form);
    return ask(turn.lang, P.formEmailMismatch, P.askFormProof);
  }
  Object.assign(form, { allowed: true, customerRef: undefined, email: form.email ?? email });
  return undefined;
}

/**
 * Asks which of the order's items it is, listing them by name (`named`: the product named is not
 * on the order; else it was not recognised). The order is read again for it, the read saying
 * that its item names are shown.
 */
export async function listItems(turn: Turn, form: TicketForm, named: boolean): Promise<BotReply> {
  const orderId = String(form.orderId);
  const who = turn.input.state.visitor?.customerId === undefined ? 'anonymous visitor (email proven)' : 'verified customer';
  const looked = await look(turn, 'order.get', { id: orderId }, `item names of the order (which item), ${who}`);
  if (!looked.ok && !looked.missing) return sourceDown(turn, looked.system, looked.code);
  const lines = looked.ok ? linesOf(looked.result.data as Order) : form.lines;
  waiting(turn, { ...form, lines });
  return ask(turn.lang, itemNotOnOrderPhrase(orderId, (lines ?? []).map((l) => l.name), named));
}
