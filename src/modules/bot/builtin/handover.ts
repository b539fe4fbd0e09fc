import type { BusinessKey } from '../../lineage/lineage.types.ts';
import type { BotFindings, BotReply, HandoverReason } from '../bot.types.ts';
import type { DialogueState, Turn } from './dialogue.types.ts';
import { P, text } from './texts.ts';

const WHY: Readonly<Record<HandoverReason, string>> = {
  visitor_asked: 'wants a person',
  not_understood: 'the bot did not understand twice',
  source_down: 'a source was down; accepted a person',
  bot_failed: 'the bot failed',
  form_done: 'form done',
  policy: 'refused by policy',
};

/** What the bot found, for the agent: the topic, what it recognised, the records it read, one line. */
export function findingsOf(state: DialogueState, reason: HandoverReason): BotFindings {
  const records: BusinessKey[] = [
    ...state.orders.map((id) => ({ system: 'orders', type: 'order', id })),
    ...state.tickets.map((id) => ({ system: 'tickets', type: 'ticket', id })),
  ];
  const entities = Object.fromEntries(Object.entries(state.entities).filter(([, values]) => values.length > 0));
  const topic = state.intent ?? 'unknown';
  const summary = [topic, ...state.notes.slice(-4), WHY[reason]].join('; ');
  return { intent: topic, entities, records, summary };
}

/**
 * Hands the conversation to a person with what the bot found, and routing's classification of
 * everything the visitor said (the keyword intents the routing rules read, and the language).
 */
export async function handover(turn: Turn, reason: HandoverReason): Promise<BotReply> {
  turn.state.pending = undefined;
  const earlier = await turn.input.earlier();
  const said = earlier.flatMap((e) => (e.type === 'conversation.message_sent' && e.by.kind === 'visitor' && e.data.contentType === 'text' ? [e.data.text] : []));
  const classification = turn.deps.classify([...said, turn.text], turn.input.state.language ?? (turn.lang === 'zh' ? 'zh' : undefined));
  return { kind: 'handover', messages: [text(P.handingOver[turn.lang])], reason, classification, findings: findingsOf(turn.state, reason) };
}
