import { toAppError } from '../../../kernel/errors.ts';
import type { Shown } from '../../lineage/lineage.types.ts';
import type { QueryResult } from '../../query/query.service.ts';
import type { BotReply } from '../bot.types.ts';
import type { Turn } from './dialogue.types.ts';
import { ask, P, SOURCE_DOWN } from './texts.ts';

/** A look-up through the query API: its answer, or that the record does not exist, or that its source is down. */
export type Looked =
  | { readonly ok: true; readonly result: QueryResult }
  | { readonly ok: false; readonly missing: true; readonly code: string }
  | { readonly ok: false; readonly missing: false; readonly code: string; readonly system: string };

/** The system a capability's records live in (the connector manifests' `system`). */
export const systemOf = (capability: string): string =>
  capability.startsWith('order.') || capability.startsWith('product.') ? 'orders' : capability.startsWith('customer.') ? 'crm' : 'tickets';

/**
 * Calls a capability through the conversation's attributed query API, saying what of the answer
 * the visitor will be shown (a text, or a function of the answer when the answer decides it). A record that does not exist (NOT_FOUND) is `missing`; any other
 * failure (CIRCUIT_OPEN, UPSTREAM_*, CONNECTOR_UNAVAILABLE …) means the source is down, and the
 * bot never answers in its place.
 */
export async function look(turn: Turn, capability: string, params: Record<string, unknown>, shown: Shown): Promise<Looked> {
  const purpose = `bot.${turn.state.intent ?? 'unknown'}`;
  try {
    return { ok: true, result: await turn.input.queries.call(capability, params, { shown, purpose }) };
  } catch (err) {
    const { code } = toAppError(err);
    return code === 'NOT_FOUND' ? { ok: false, missing: true, code } : { ok: false, missing: false, code, system: systemOf(capability) };
  }
}

/** Says plainly which source is down and offers a person: a "yes" (or "agent") next hands over. */
export function sourceDown(turn: Turn, system: string, code: string): BotReply {
  turn.state.pending = { kind: 'offer_human', source: system };
  turn.state.notes.push(`${system} unavailable (${code})`);
  return ask(turn.lang, SOURCE_DOWN[system] ?? SOURCE_DOWN.orders!, P.offerHuman);
}

/** Adds to a list once. */
export const remember = (list: string[], ...values: readonly string[]): void => {
  for (const value of values) if (!list.includes(value)) list.push(value);
};
