import type { QueryResult } from '../../query/query.service.ts';
import type { BotReply } from '../bot.types.ts';
import type { Pending, Turn } from './dialogue.types.ts';
import { handover } from './handover.ts';
import { look, remember, sourceDown } from './lookups.ts';
import { answer, ask, notFoundPhrase, P, pickedPosition, pickPhrase, stalePhrase, statusPhrase, statusWord, text, type Phrase } from './texts.ts';

/** The canonical order, as far as the bot reads it. */
interface Order {
  readonly id: string;
  readonly customerRef: string;
  readonly status: string;
  readonly createdAt: string;
  readonly total: { readonly amount: string; readonly currency: string };
  readonly lines: readonly { readonly sku: string; readonly name: string; readonly quantity: number }[];
}

const DEFAULT_MAX_UNPROVEN = 3;
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

/** The verified customer's id in the orders system (read from the CRM once), or a reply when the CRM is down. */
async function ownRef(turn: Turn): Promise<string | undefined | BotReply> {
  const customerId = turn.input.state.visitor?.customerId;
  if (customerId === undefined) return undefined;
  if (turn.state.ordersRef !== undefined) return turn.state.ordersRef;
  const looked = await look(turn, 'customer.get', { id: customerId }, 'nothing (whose orders are theirs), verified customer');
  if (!looked.ok) return looked.missing ? undefined : sourceDown(turn, looked.system, looked.code);
  const customer = looked.result.data as { email?: string; externalIds?: Record<string, string> };
  turn.state.email = customer.email;
  turn.state.ordersRef = customer.externalIds?.orders;
  return turn.state.ordersRef;
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
  const lines = orders.map((o, i) => `${i + 1}) ${o.id} · ${statusWord(o.status, turn.lang)} · ${o.createdAt.slice(0, 10)}`);
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

/** One order by number: whose it is decides what is shown. */
export async function lookUpOrder(turn: Turn, orderId: string): Promise<BotReply> {
  const { state } = turn;
  state.pending = undefined;
  remember(state.entities.order ??= [], orderId);
  const ref = await ownRef(turn);
  if (typeof ref === 'object') return ref;
  const max = turn.deps.maxUnprovenOrders ?? DEFAULT_MAX_UNPROVEN;
  const tried = state.proven.includes(orderId) || state.unproven.includes(orderId);
  // An anonymous visitor's new number past the limit is refused before it is looked up: whether it exists is not told.
  if (ref === undefined && !tried && state.unproven.length >= max) return refuseWalking(turn);

  const check = await look(turn, 'order.get', { id: orderId }, ref === undefined ? 'nothing (whose order it is), anonymous visitor' : 'nothing (whose order it is), verified customer');
  if (!check.ok && !check.missing) return sourceDown(turn, check.system, check.code);
  const order = check.ok ? (check.result.data as Order) : undefined;
  if (order !== undefined && ref !== undefined && order.customerRef === ref) return showOrder(turn, orderId, 'details');
  if (state.proven.includes(orderId)) return showOrder(turn, orderId, 'status');
  if (!tried && state.unproven.length >= max) return refuseWalking(turn);
  remember(state.unproven, orderId);
  if (order === undefined) {
    state.notes.push(`${orderId} not found`);
    return answer(turn.lang, notFoundPhrase(orderId));
  }
  remember(state.orders, orderId);
  const pending = { kind: 'order_email', orderId, customerRef: order.customerRef } as const;
  const email = turn.understood.entities.emails[0];
  if (email !== undefined) return proveEmail(turn, pending, email);
  state.pending = pending;
  return ask(turn.lang, P.askEmail);
}

function refuseWalking(turn: Turn): Promise<BotReply> | BotReply {
  if (turn.state.walkingRefused) {
    turn.state.notes.push('kept trying order numbers without proof');
    return handover(turn, 'policy');
  }
  turn.state.walkingRefused = true;
  turn.state.notes.push(`refused: more than ${turn.state.unproven.length} order numbers without proof`);
  return answer(turn.lang, P.walkingRefused);
}

/** The answer to "what is the email on the order": the CRM's customers with that email, matched by their orders id. */
export async function proveEmail(turn: Turn, pending: Extract<Pending, { kind: 'order_email' }>, email: string): Promise<BotReply> {
  turn.state.pending = undefined;
  remember(turn.state.entities.email ??= [], email);
  const looked = await look(turn, 'customer.list', { email, pageSize: 10 }, 'nothing (proof of the email of an order), anonymous visitor');
  if (!looked.ok) return looked.missing ? answer(turn.lang, P.emailMismatch) : sourceDown(turn, looked.system, looked.code);
  const customers = (looked.result.data as { items: { externalIds?: Record<string, string> }[] }).items;
  if (!customers.some((c) => c.externalIds?.orders === pending.customerRef)) {
    turn.state.notes.push(`email given for ${pending.orderId} did not match`);
    turn.state.wrongEmails = (turn.state.wrongEmails ?? 0) + 1;
    // Guessing emails is walking too: past the limit, a person takes over.
    if (turn.state.wrongEmails > (turn.deps.maxUnprovenOrders ?? DEFAULT_MAX_UNPROVEN)) return handover(turn, 'policy');
    return answer(turn.lang, P.emailMismatch);
  }
  remember(turn.state.proven, pending.orderId);
  turn.state.unproven = turn.state.unproven.filter((id) => id !== pending.orderId);
  return showOrder(turn, pending.orderId, 'status');
}

/** Reads the order again to show it, the read saying what is shown: everything to its verified owner, the status to one who proved the email. */
async function showOrder(turn: Turn, orderId: string, what: 'details' | 'status'): Promise<BotReply> {
  turn.state.pending = undefined;
  remember(turn.state.entities.order ??= [], orderId);
  remember(turn.state.orders, orderId);
  const shown = what === 'details' ? 'order details, verified customer' : 'status only, anonymous visitor (email proven)';
  const looked = await look(turn, 'order.get', { id: orderId }, shown);
  if (!looked.ok) return looked.missing ? answer(turn.lang, notFoundPhrase(orderId)) : sourceDown(turn, looked.system, looked.code);
  const order = looked.result.data as Order;
  turn.state.notes.push(`${orderId} ${order.status}${looked.result.stale ? ' (stale)' : ''}`);
  const phrases: Phrase[] = [statusPhrase(orderId, order.status, order.createdAt)];
  if (what === 'details') phrases.push(detailsPhrase(order));
  else phrases.push(P.statusOnly);
  return withAge(turn, looked.result, answer(turn.lang, ...phrases));
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
