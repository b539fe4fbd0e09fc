import type { QueryResult } from '../../query/query.service.ts';
import type { BotReply } from '../bot.types.ts';
import type { DialogueState, Turn } from './dialogue.types.ts';
import { handover } from './handover.ts';
import { look, remember, sourceDown } from './lookups.ts';
import { answer, P } from './texts.ts';

/** The canonical order, as far as the bot reads it. */
export interface Order {
  readonly id: string;
  readonly customerRef: string;
  /** The canonical status; `other` when the source's maps to none (see `sourceStatus`). */
  readonly status: string;
  /** The status in the orders system's own words. */
  readonly sourceStatus?: string;
  readonly createdAt: string;
  readonly total: { readonly amount: string; readonly currency: string };
  readonly lines: readonly { readonly sku: string; readonly name: string; readonly quantity: number }[];
}

/** Different order numbers a visitor may try without proof, unless the deps say otherwise. */
export const DEFAULT_MAX_UNPROVEN = 3;

/**
 * Whose an order named in the conversation is, as far as the visitor may know (order status and
 * the return form decide by it alike): the verified customer's `own`; `proven` (its email proven
 * in this conversation); `unproven` (someone else's, or an anonymous visitor's not yet proven:
 * counted against the walking limit); `missing` (no such order); or `refused`, with the reply
 * that ends the turn (walking refused or handed over, a source down).
 */
export type OrderAccess =
  | { readonly kind: 'own'; readonly order: Order; readonly result: QueryResult }
  | { readonly kind: 'proven'; readonly order: Order; readonly result: QueryResult }
  | { readonly kind: 'unproven'; readonly order: Order; readonly verified: boolean }
  | { readonly kind: 'missing' }
  | { readonly kind: 'refused'; readonly reply: BotReply };

/** The verified customer's id in the orders system (read from the CRM once), or a reply when the CRM is down. */
export async function ownRef(turn: Turn): Promise<string | undefined | BotReply> {
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

/**
 * What the caller will show of an order it may show, from the same read that settles whose it is
 * (lineage records it): for the verified customer's `own` order, for a `proven` one. Unset, the
 * read shows nothing.
 */
export interface OrderShows {
  readonly own?: string;
  readonly proven?: string;
}

/** Whose an order is to this visitor: the verified customer's (`ref`) own, proven by its email in this conversation, or another's. */
function whoseOrder(state: DialogueState, ref: string | undefined, orderId: string, order: Order): 'own' | 'proven' | 'other' {
  if (ref !== undefined && order.customerRef === ref) return 'own';
  return state.proven.includes(orderId) ? 'proven' : 'other';
}

/**
 * Reads one order, once, to learn whose it is; its lineage says what the caller will show of it
 * (`shows`, decided from the answer by the same rule as the access returned; else nothing). An
 * anonymous visitor's new number past `maxUnprovenOrders` is refused before it is looked up, so
 * whether it exists is not told; a verified customer's number of someone else's order counts the same.
 */
export async function checkOrder(turn: Turn, orderId: string, shows: OrderShows = {}): Promise<OrderAccess> {
  const { state } = turn;
  const ref = await ownRef(turn);
  if (typeof ref === 'object') return { kind: 'refused', reply: ref };
  const max = turn.deps.maxUnprovenOrders ?? DEFAULT_MAX_UNPROVEN;
  const tried = state.proven.includes(orderId) || state.unproven.includes(orderId);
  if (ref === undefined && !tried && state.unproven.length >= max) return { kind: 'refused', reply: await refuseWalking(turn) };

  const nothing = ref === undefined ? 'nothing (whose order it is), anonymous visitor' : 'nothing (whose order it is), verified customer';
  const shown = (result: QueryResult): string => {
    const whose = whoseOrder(state, ref, orderId, result.data as Order);
    return (whose === 'own' ? shows.own : whose === 'proven' ? shows.proven : undefined) ?? nothing;
  };
  const check = await look(turn, 'order.get', { id: orderId }, shown);
  if (!check.ok && !check.missing) return { kind: 'refused', reply: sourceDown(turn, check.system, check.code) };
  if (!check.ok && state.proven.includes(orderId)) return { kind: 'missing' };
  const order = check.ok ? (check.result.data as Order) : undefined;
  if (check.ok && order !== undefined) {
    const whose = whoseOrder(state, ref, orderId, order);
    if (whose !== 'other') return { kind: whose, order, result: check.result };
  }
  if (!tried && state.unproven.length >= max) return { kind: 'refused', reply: await refuseWalking(turn) };
  remember(state.unproven, orderId);
  if (order === undefined) {
    state.notes.push(`${orderId} not found`);
    return { kind: 'missing' };
  }
  return { kind: 'unproven', order, verified: ref !== undefined };
}

/** The first refusal says so; trying once more after it hands over. */
function refuseWalking(turn: Turn): Promise<BotReply> | BotReply {
  if (turn.state.walkingRefused) {
    turn.state.notes.push('kept trying order numbers without proof');
    return handover(turn, 'policy');
  }
  turn.state.walkingRefused = true;
  turn.state.notes.push(`refused: more than ${turn.state.unproven.length} order numbers without proof`);
  return answer(turn.lang, P.walkingRefused);
}

/**
 * The proof that an order is the visitor's: the CRM's customers with `email` (`customer.list`
 * through the query API), one of them the order's customer in the orders system. `proven` records
 * the order as proven for the rest of the conversation; a wrong email counts, and past
 * `maxUnprovenOrders` wrong emails a person takes over (guessing is walking too): that reply, or
 * the CRM being down, is returned as the reply that ends the turn.
 */
export async function provesOrder(turn: Turn, orderId: string, customerRef: string, email: string): Promise<'proven' | 'mismatch' | BotReply> {
  remember(turn.state.entities.email ??= [], email);
  const looked = await look(turn, 'customer.list', { email, pageSize: 10 }, 'nothing (proof of the email of an order), anonymous visitor');
  if (!looked.ok) return looked.missing ? 'mismatch' : sourceDown(turn, looked.system, looked.code);
  const customers = (looked.result.data as { items: { externalIds?: Record<string, string> }[] }).items;
  if (!customers.some((c) => c.externalIds?.orders === customerRef)) {
    turn.state.notes.push(`email given for ${orderId} did not match`);
    turn.state.wrongEmails = (turn.state.wrongEmails ?? 0) + 1;
    if (turn.state.wrongEmails > (turn.deps.maxUnprovenOrders ?? DEFAULT_MAX_UNPROVEN)) return handover(turn, 'policy');
    return 'mismatch';
  }
  remember(turn.state.proven, orderId);
  turn.state.unproven = turn.state.unproven.filter((id) => id !== orderId);
  return 'proven';
}
