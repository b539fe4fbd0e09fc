import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initialState } from '../chat/conversation.decider.ts';
import type { BotInput } from './bot.types.ts';
import { createRuleBot } from './rule-bot.ts';

const said = (text: string): BotInput => ({
  conversationId: 'c-1',
  state: { ...initialState(), status: 'bot' },
  message: { type: 'conversation.message_sent', seq: 9, id: 'e-9', at: '2025-03-01T10:00:00.000Z', by: { kind: 'visitor', id: 'v-1' }, visibility: 'public', data: { messageId: 'm-9', author: { kind: 'visitor', id: 'v-1' }, visibility: 'public', contentType: 'text', text } },
  earlier: async () => { throw new Error('the rule bot reads no earlier message'); },
  queries: { attribution: { conversationId: 'c-1', actor: { kind: 'bot', id: 'builtin' } }, call: async () => { throw new Error('the rule bot makes no query'); } },
  traceId: '0'.repeat(31) + '1',
});

describe('the rule bot', () => {
  test('hands over on "agent", "human" or "转人工", with what it found', async () => {
    for (const text of ['agent please', 'a human!', '转人工']) {
      assert.deepEqual(await createRuleBot().reply(said(text)), { kind: 'handover', reason: 'visitor_asked', findings: { intent: 'handoff', summary: 'the visitor asked for a person' } });
    }
  });

  test('answers anything else with one message, reading nothing', async () => {
    const reply = await createRuleBot().reply(said('hello'));
    assert.equal(reply.kind, 'answer');
    assert.equal(reply.kind === 'answer' && reply.messages.length, 1);
  });
});
