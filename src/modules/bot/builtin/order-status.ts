import type { QueryResult } from '../../query/query.service.ts';
import type { BotReply } from '../bot.types.ts';
import type { Pending, Turn } from './dialogue.types.ts';
import { checkOrder, ownRef, provesOrder, type Order } from './order-access.ts';
import { look, remember, sourceDown } from './lookups.ts';
import { answer, ask, notFoundPhrase, P, pickedPosition, pickPhrase, stalePhrase, statusPhrase, statusWord, text, type Phrase } from './texts.ts';

const RECENT_ORDERS = 5;

/**
 * "Where is my order": with a number, that order; without one, a verified customer's recent
 * orders to pick from, an anonymous visitor is asked for the number. Details (items, total) only
 * for the verified customer's own orders; anyone else gets at most the status, after proving the
 * order's email; more than `maxUnprovenOrders` different numbers without proof are refused.
 */
export async function orderStatus(turn: Turn): Promise<BotReply> {
  const orderId = turn.understood.entities.orderIds[0];
  if (orderId !== undefined) return lookUpOrder(turn, orderId);
  if (turn.input.state.visitor?.customerId === undefined) {
    turn.state.pending = { kind: 'order_number' };
    return ask(turn.lang, P.askOrderNumber);
  }
  return recentOrders(turn);
}

async function recentOrders(turn: Turn): Promise<BotReply> {
  const ref = await ownRef(turn);
  if (typeof ref === 'object') return ref;
  if (ref === undefined) return answer(turn.lang, P.noOrders);
  const looked = await look(turn, 'order.list', { customerRef: ref, pageSize: RECENT_ORDERS }, 'recent orders (numbers, statuses, dates), verified customer');
  if (!looked.ok) return looked.missing ? answer(turn.lang, P.noOrders) : sourceDown(turn, looked.system, looked.code);
  const orders = (looked.result.data as { items: Order[] }).items;
  const [only] = orders;
  if (only === undefined) return answer(turn.lang, P.noOrders);
  if (orders.length === 1) return showOrder(turn, only.id, 'details');
  turn.state.pending = { kind: 'pick_order', options: orders.map((o) => o.id) };
  const lines = orders.map((o, i) => `${i + 1}) ${o.id} · ${statusWord(o, turn.lang)} · ${o.createdAt.slice(0, 10)}`);
  return withAge(turn, looked.result, ask(turn.lang, pickPhrase(lines)));
}

/** The next message after a list of orders: its position, or one of the numbers. */
export async function pickOrder(turn: Turn, pending: Extract<Pending, { kind: 'pick_order' }>): Promise<BotReply | undefined> {
  const named = turn.understood.entities.orderIds[0];
  if (named !== undefined) return pending.options.includes(named) ? showOrder(turn, named, 'details') : lookUpOrder(turn, named);
  const position = pickedPosition(turn.text, pending.options.length);
  const picked = position === undefined ? undefined : pending.options[position - 1];
  return picked === undefined ? undefined : showOrder(turn, picked, 'details');
}

/** One order by number: whose it is decides what is shown (details to its verified owner, the status once its email is proven). */
export async function lookUpOrder(turn: Turn, orderId: string): Promise<BotReply> {
  const { state } = turn;
  state.pending = undefined;
  remember(state.entities.order ??= [], orderId);
  // One read: whose the order is decides what is shown, and its lineage says so.
  const access = await checkOrder(turn, orderId, { own: SHOWN.details, proven: SHOWN.status });
  switch (access.kind) {
    case 'refused':
      return access.reply;
    case 'own':
      return present(turn, orderId, access.result, 'details');
    case 'proven':
      return present(turn, orderId, access.result, 'status');
    case 'missing':
      return answer(turn.lang, notFoundPhrase(orderId));
    case 'unproven': {
      remember(state.orders, orderId);
      const pending = { kind: 'order_email', orderId, customerRef: access.order.customerRef } as const;
      const email = turn.understood.entities.emails[0];
      if (email !== undefined) return proveEmail(turn, pending, email);
      state.pending = pending;
      return ask(turn.lang, P.askEmail);
    }
  }
}

/** The answer to "what is the email on the order": proven, the status; else nothing about it. */
export async function proveEmail(turn: Turn, pending: Extract<Pending, { kind: 'order_email' }>, email: string): Promise<BotReply> {
  turn.state.pending = undefined;
  const proof = await provesOrder(turn, pending.orderId, pending.customerRef, email);
  if (typeof proof === 'object') return proof;
  if (proof === 'mismatch') return answer(turn.lang, P.emailMismatch);
  return showOrder(turn, pending.orderId, 'status');
}

/** What a read that shows an order records (lineage): everything to its verified owner, the status to one who proved the email. */
const SHOWN = { details: 'order details, verified customer', status: 'status only, anonymous visitor (email proven)' } as const;

/** Reads an order already known to be showable (picked from the own list, its email just proven) and shows it, the read saying what is shown. */
async function showOrder(turn: Turn, orderId: string, what: 'details' | 'status'): Promise<BotReply> {
  looking(turn, orderId);
  const looked = await look(turn, 'order.get', { id: orderId }, SHOWN[what]);
  if (!looked.ok) return looked.missing ? answer(turn.lang, notFoundPhrase(orderId)) : sourceDown(turn, looked.system, looked.code);
  return present(turn, orderId, looked.result, what);
}

/** The order is the one the conversation is about now (the findings name it). */
function looking(turn: Turn, orderId: string): void {
  turn.state.pending = undefined;
  remember(turn.state.entities.order ??= [], orderId);
  remember(turn.state.orders, orderId);
}

/** The answer about an order from the read that fetched it: its status, and its details to its verified owner. */
function present(turn: Turn, orderId: string, result: QueryResult, what: 'details' | 'status'): BotReply {
  looking(turn, orderId);
  const order = result.data as Order;
  const status = order.status === 'other' ? `other (${order.sourceStatus ?? 'unknown'})` : order.status;
  turn.state.notes.push(`${orderId} ${status}${result.stale ? ' (stale)' : ''}`);
  const phrases: Phrase[] = [statusPhrase(orderId, order, order.createdAt)];
  if (what === 'details') phrases.push(detailsPhrase(order));
  else phrases.push(P.statusOnly);
  return withAge(turn, result, answer(turn.lang, ...phrases));
}

function detailsPhrase(order: Order): Phrase {
  const items = order.lines.map((l) => `${l.quantity} × ${l.name}`);
  const total = `${order.total.amount} ${order.total.currency}`;
  return { en: `Items: ${items.join(', ')}. Total: ${total}.`, zh: `商品：${items.join('，')}。合计：${total}。` };
}

/** A stale answer says how old it is, as one more message. */
function withAge(turn: Turn, result: QueryResult, reply: BotReply): BotReply {
  if (!result.stale || result.staleness === undefined || (reply.kind !== 'answer' && reply.kind !== 'ask')) return reply;
  return { ...reply, messages: [...reply.messages, text(stalePhrase(result.staleness.ageMs)[turn.lang])] };
}
