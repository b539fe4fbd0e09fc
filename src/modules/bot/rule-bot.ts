import type { Bot } from './bot.types.ts';

/** Words after which the rule bot hands over to a person. */
const HANDOVER = /\b(agent|human|person)\b|转人工|人工客服/i;

/**
 * A tiny rule bot: it greets, and hands over on "agent", "human" or "转人工" (reason
 * `visitor_asked`; the runner adds the keyword classification routing reads). Not configurable in
 * the gateway (`builtin` is the dialogue bot): the chat service's unit tests drive the bot seam with it.
 */
export function createRuleBot(name = 'builtin'): Bot {
  return {
    name,
    async reply({ message }) {
      const text = message.data.contentType === 'text' ? message.data.text : '';
      if (HANDOVER.test(text)) return { kind: 'handover', reason: 'visitor_asked', findings: { intent: 'handoff', summary: 'the visitor asked for a person' } };
      return { kind: 'answer', messages: [{ contentType: 'text', text: 'I am the Omnigate bot. Say "agent" (or 转人工) to talk to a person.' }] };
    },
  };
}
