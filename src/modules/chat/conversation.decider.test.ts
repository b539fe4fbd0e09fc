import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '../../kernel/errors.ts';
import { decide, evolve, fold, initialState } from './conversation.decider.ts';
import type { Actor, ActorKind, CommandType, ConversationEvent, ConversationStatus, DecidedEvent, DeciderCommand } from './conversation.types.ts';
import { TRANSITIONS, type CommandRules, type DecideContext } from './transitions.ts';

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const WINDOW_MS = 60_000;
const visitor: Actor = { kind: 'visitor', id: 'v-1' };
const agent: Actor = { kind: 'agent', id: 'a-2' };
const bot: Actor = { kind: 'bot', id: 'builtin' };
const system: Actor = { kind: 'system', id: 'crm' };
const ACTORS: Record<ActorKind, Actor> = { visitor, agent, bot, system };
const VISITOR_REF = { id: 'v-1', site: 'shop' };
const text = (t: string) => ({ contentType: 'text', text: t }) as const;

/** Numbers decided events as the service does (seq, id, time). */
const stored = (decided: readonly DecidedEvent[], afterSeq = 0): ConversationEvent[] =>
  decided.map((e, i) => ({ ...e, seq: afterSeq + i + 1, id: `e-${afterSeq + i + 1}`, at: new Date(T0 + afterSeq + i + 1).toISOString() }) as ConversationEvent);

const ev = {
  created: { type: 'conversation.created', by: visitor, visibility: 'public', data: { visitor: VISITOR_REF } },
  botEngaged: { type: 'conversation.bot_engaged', by: visitor, visibility: 'internal', data: { bot: 'builtin', group: 'sales' } },
  queued: { type: 'conversation.queued', by: visitor, visibility: 'internal', data: { reason: 'no_bot', group: 'sales' } },
  assigned: { type: 'conversation.assigned', by: { kind: 'agent', id: 'a-1' }, visibility: 'public', data: { agentId: 'a-1' } },
  snoozed: { type: 'conversation.snoozed', by: { kind: 'agent', id: 'a-1' }, visibility: 'internal', data: { untilMs: T0 + 5_000 } },
  closed: { type: 'conversation.closed', by: { kind: 'agent', id: 'a-1' }, visibility: 'public', data: { reason: 'resolved' } },
  offered: { type: 'conversation.offered', by: { kind: 'system', id: 'dispatch' }, visibility: 'internal', data: { offerId: 'o-1', agentId: 'a-2', expiresAt: new Date(T0 + 30_000).toISOString(), autoAssign: false, reason: 'least_busy', candidates: [], passedOver: 0 } },
  messageLeft: { type: 'conversation.message_left', by: visitor, visibility: 'public', data: { text: 'call me back', email: 'v@example.com', ticketJobId: 'cm_1' } },
  closedLeft: { type: 'conversation.closed', by: visitor, visibility: 'public', data: { reason: 'left_message' } },
  reopened: { type: 'conversation.reopened', by: visitor, visibility: 'public', data: {} },
  requeued: { type: 'conversation.queued', by: visitor, visibility: 'internal', data: { reason: 'reopened', group: 'sales' } },
} as const satisfies Record<string, DecidedEvent>;

/** The events that bring a conversation to each resting state (`new` never rests: start moves on at once). */
const HISTORY: Record<Exclude<ConversationStatus, 'new'>, DecidedEvent[]> = {
  none: [],
  bot: [ev.created, ev.botEngaged],
  queued: [ev.created, ev.queued],
  assigned: [ev.created, ev.queued, ev.assigned],
  pending: [ev.created, ev.queued, ev.assigned, ev.snoozed],
  closed: [ev.created, ev.queued, ev.assigned, ev.closed],
};
const RESTING = Object.keys(HISTORY) as (keyof typeof HISTORY)[];

const ctxOf = (actor: Actor, extra: Partial<DecideContext> = {}): DecideContext => ({ actor, nowMs: T0 + 10_000, reopenWindowMs: WINDOW_MS, ...extra });

/** given events / when command / then events or error. */
function given(history: readonly DecidedEvent[]) {
  const state = fold(stored(history));
  return {
    state,
    when: (command: DeciderCommand, actor: Actor, extra?: Partial<DecideContext>) => ({
      then: (events: readonly DecidedEvent[]) => assert.deepEqual(decide(command, state, ctxOf(actor, extra)), events),
      thenRefuses: (code: string, extensions?: Record<string, unknown>) =>
        assert.throws(() => decide(command, state, ctxOf(actor, extra)), (err: unknown) => {
          assert.ok(err instanceof AppError);
          assert.equal(err.code, code);
          if (extensions) assert.deepEqual(err.extensions, extensions);
          return true;
        }),
    }),
  };
}

/** A valid command of each type, for any state that takes it. */
const SAMPLE: { [T in CommandType]: Extract<DeciderCommand, { type: T }> } = {
  start: { type: 'start', visitor: VISITOR_REF, group: 'sales' },
  send: { type: 'send', messageId: 'm-1', clientId: 'c-1', content: text('hello') },
  note: { type: 'note', messageId: 'm-2', content: text('VIP customer') },
  handover: { type: 'handover' },
  accept: { type: 'accept', agentId: 'a-2' },
  transfer: { type: 'transfer', to: { group: 'billing' }, reason: 'refund question' },
  snooze: { type: 'snooze', untilMs: T0 + 60_000 },
  wake: { type: 'wake' },
  requeue: { type: 'requeue' },
  close: { type: 'close' },
  abandon: { type: 'abandon' },
  reopen: { type: 'reopen' },
  read: { type: 'read', upToSeq: 1 },
  delivered: { type: 'delivered', upToSeq: 1 },
  decline: { type: 'decline', offerId: 'o-1' },
  leave_message: { type: 'leave_message', text: 'call me back', email: 'v@example.com', ticketJobId: 'cm_1' },
  route: { type: 'route', decision: { decisionId: 'd-1', rulesVersion: 'v1', group: 'sales', priority: 0, skills: [], outcomes: [], facts: {}, sources: [], missing: [], decidedAt: new Date(T0).toISOString() } },
  offer: { type: 'offer', offer: { offerId: 'o-1', agentId: 'a-2', expiresAt: new Date(T0 + 30_000).toISOString(), autoAssign: false, reason: 'least_busy', candidates: [], passedOver: 0 } },
  end_offer: { type: 'end_offer', offerId: 'o-1', agentId: 'a-2', outcome: 'expired' },
  overflow: { type: 'overflow', to: { group: 'orders' }, reason: 'nobody_online' },
  ticket_opened: { type: 'ticket_opened', ticketId: 'TCK-1', ticketJobId: 'cm_1' },
};

const msg = (by: Actor, visibility: 'public' | 'internal', command: Extract<DeciderCommand, { type: 'send' | 'note' }>): DecidedEvent => ({
  type: 'conversation.message_sent', by, visibility,
  data: { messageId: command.messageId, ...(command.clientId ? { clientId: command.clientId } : {}), author: by, visibility, ...command.content },
});
const queuedBy = (by: Actor, reason: 'no_bot' | 'handover' | 'agent_timeout' | 'transferred' | 'reopened', group?: string): DecidedEvent =>
  ({ type: 'conversation.queued', by, visibility: 'internal', data: { reason, ...(group ? { group } : {}) } });
const transferToBilling = (by: Actor, fromAgentId?: string): DecidedEvent[] => [
  { type: 'conversation.transferred', by, visibility: 'internal', data: { ...(fromAgentId ? { fromAgentId } : {}), to: { group: 'billing' }, reason: 'refund question' } },
  queuedBy(by, 'transferred', 'billing'),
];
const receipt = (type: 'conversation.read' | 'conversation.delivered', by: Actor): DecidedEvent => ({ type, by, visibility: 'public', data: { participant: by, upToSeq: 1 } });
const closedBy = (by: Actor, reason: 'resolved' | 'abandoned' | 'idle'): DecidedEvent => ({ type: 'conversation.closed', by, visibility: 'public', data: { reason } });

const dispatchActor: Actor = { kind: 'system', id: 'dispatch' };
const offerEnded = (by: Actor, outcome: 'expired' | 'declined' | 'cancelled'): DecidedEvent => ({ type: 'conversation.offer_ended', by, visibility: 'internal', data: { offerId: 'o-1', agentId: 'a-2', outcome } });
const left = (by: Actor): DecidedEvent[] => [
  { type: 'conversation.message_left', by, visibility: 'public', data: { text: 'call me back', email: 'v@example.com', ticketJobId: 'cm_1' } },
  { type: 'conversation.closed', by, visibility: 'public', data: { reason: 'left_message' } },
];
const ticketOpened = (by: Actor): DecidedEvent => ({ type: 'conversation.ticket_opened', by, visibility: 'public', data: { ticketId: 'TCK-1', ticketJobId: 'cm_1' } });
/** A message left (and the conversation closed by it), then reopened into the queue: the ticket may come after. */
const LEFT: DecidedEvent[] = [ev.created, ev.queued, ev.messageLeft, ev.closedLeft];
const LEFT_REOPENED: DecidedEvent[] = [...LEFT, ev.reopened, ev.requeued];

/**
 * Every row of the table, with the events it decides for one actor that may issue it; `given`:
 * the history it is decided on, when the resting state's own (HISTORY) does not call for it.
 */
const ROWS: Record<string, { by: Actor; then: DecidedEvent[]; given?: DecidedEvent[] }> = {
  'start@none': { by: visitor, then: [{ type: 'conversation.created', by: visitor, visibility: 'public', data: { visitor: VISITOR_REF } }, queuedBy(visitor, 'no_bot', 'sales')] },
  'send@bot': { by: visitor, then: [msg(visitor, 'public', SAMPLE.send)] },
  'send@queued': { by: visitor, then: [msg(visitor, 'public', SAMPLE.send)] },
  'send@assigned': { by: agent, then: [msg(agent, 'public', SAMPLE.send)] },
  'send@pending': { by: visitor, then: [msg(visitor, 'public', SAMPLE.send), { type: 'conversation.woke', by: visitor, visibility: 'internal', data: { reason: 'customer_replied' } }] },
  'note@bot': { by: bot, then: [msg(bot, 'internal', SAMPLE.note)] },
  'note@queued': { by: agent, then: [msg(agent, 'internal', SAMPLE.note)] },
  'note@assigned': { by: agent, then: [msg(agent, 'internal', SAMPLE.note)] },
  'note@pending': { by: agent, then: [msg(agent, 'internal', SAMPLE.note)] },
  'note@closed': { by: system, then: [msg(system, 'internal', SAMPLE.note)] },
  'handover@bot': { by: visitor, then: [queuedBy(visitor, 'handover', 'sales')] },
  'accept@queued': { by: agent, then: [{ type: 'conversation.assigned', by: agent, visibility: 'public', data: { agentId: 'a-2' } }] },
  'transfer@queued': { by: system, then: transferToBilling(system) },
  'transfer@assigned': { by: agent, then: transferToBilling(agent, 'a-1') },
  'transfer@pending': { by: agent, then: transferToBilling(agent, 'a-1') },
  'snooze@assigned': { by: agent, then: [{ type: 'conversation.snoozed', by: agent, visibility: 'internal', data: { untilMs: T0 + 60_000 } }] },
  'wake@pending': { by: system, then: [{ type: 'conversation.woke', by: system, visibility: 'internal', data: { reason: 'snooze_ended' } }] },
  'requeue@assigned': { by: system, then: [queuedBy(system, 'agent_timeout', 'sales')] },
  'close@bot': { by: system, then: [closedBy(system, 'resolved')] },
  'close@queued': { by: agent, then: [closedBy(agent, 'resolved')] },
  'close@assigned': { by: agent, then: [closedBy(agent, 'resolved')] },
  'close@pending': { by: agent, then: [closedBy(agent, 'resolved')] },
  'abandon@bot': { by: visitor, then: [closedBy(visitor, 'abandoned')] },
  'abandon@queued': { by: system, then: [closedBy(system, 'abandoned')] },
  'reopen@closed': { by: visitor, then: [{ type: 'conversation.reopened', by: visitor, visibility: 'public', data: {} }, queuedBy(visitor, 'reopened', 'sales')] },
  'route@queued': { by: dispatchActor, then: [{ type: 'conversation.routed', by: dispatchActor, visibility: 'internal', data: { decision: SAMPLE.route.decision } }] },
  'offer@queued': { by: dispatchActor, then: [{ type: 'conversation.offered', by: dispatchActor, visibility: 'internal', data: SAMPLE.offer.offer }] },
  'end_offer@queued': { by: dispatchActor, given: [ev.created, ev.queued, ev.offered], then: [offerEnded(dispatchActor, 'expired')] },
  'end_offer@assigned': { by: dispatchActor, given: [ev.created, ev.queued, ev.offered, ev.assigned], then: [offerEnded(dispatchActor, 'expired')] },
  'end_offer@pending': { by: dispatchActor, given: [ev.created, ev.queued, ev.offered, ev.assigned, ev.snoozed], then: [offerEnded(dispatchActor, 'expired')] },
  'end_offer@closed': { by: dispatchActor, given: [ev.created, ev.queued, ev.offered, ev.closed], then: [offerEnded(dispatchActor, 'expired')] },
  'decline@queued': { by: agent, given: [ev.created, ev.queued, ev.offered], then: [offerEnded(agent, 'declined')] },
  'overflow@queued': { by: dispatchActor, then: [{ type: 'conversation.overflowed', by: dispatchActor, visibility: 'internal', data: { fromGroup: 'sales', to: { group: 'orders' }, reason: 'nobody_online' } }] },
  'leave_message@bot': { by: visitor, then: left(visitor) },
  'leave_message@queued': { by: visitor, then: left(visitor) },
  'ticket_opened@queued': { by: dispatchActor, given: LEFT_REOPENED, then: [ticketOpened(dispatchActor)] },
  'ticket_opened@assigned': { by: dispatchActor, given: [...LEFT_REOPENED, ev.assigned], then: [ticketOpened(dispatchActor)] },
  'ticket_opened@pending': { by: dispatchActor, given: [...LEFT_REOPENED, ev.assigned, ev.snoozed], then: [ticketOpened(dispatchActor)] },
  'ticket_opened@closed': { by: dispatchActor, given: LEFT, then: [ticketOpened(dispatchActor)] },
  ...Object.fromEntries((['bot', 'queued', 'assigned', 'pending', 'closed'] as const).flatMap((s) => [
    [`read@${s}`, { by: visitor, then: [receipt('conversation.read', visitor)] }],
    [`delivered@${s}`, { by: agent, then: [receipt('conversation.delivered', agent)] }],
  ])),
};

const rulesOf = (type: CommandType) => TRANSITIONS[type] as CommandRules<DeciderCommand>;
const tableRows = (): string[] => (Object.keys(TRANSITIONS) as CommandType[]).flatMap((type) => Object.keys(rulesOf(type).from).map((s) => `${type}@${s}`));

describe('transition table: every row', () => {
  test('each row of the table has its given/when/then case here (a new row cannot go untested)', () => {
    assert.deepEqual(Object.keys(ROWS).sort(), tableRows().sort());
  });

  for (const [key, { by, then, given: history }] of Object.entries(ROWS)) {
    const [type, status] = key.split('@') as [CommandType, keyof typeof HISTORY];
    test(`${type} in ${status} by ${by.kind} decides ${then.map((e) => e.type).join(', ')}`, () => {
      const state = given(history ?? HISTORY[status]);
      assert.equal(state.state.status, status, 'the given history ends in the row\'s state');
      state.when(SAMPLE[type], by).then(then);
    });
  }
});

describe('transition table: every refused cell', () => {
  // Derived from the table: each command × resting state × actor kind that no row allows.
  for (const type of Object.keys(TRANSITIONS) as CommandType[]) {
    const rules = rulesOf(type);
    const issuers = new Set(Object.values(rules.from).flatMap((row) => row.by));
    for (const status of RESTING) {
      for (const kind of Object.keys(ACTORS) as ActorKind[]) {
        const row = rules.from[status];
        const code = !issuers.has(kind) ? 'FORBIDDEN' : (rules.refuse?.[status] ?? (row?.by.includes(kind) ? undefined : 'INVALID_TRANSITION'));
        if (code === undefined) {
          const history = ROWS[`${type}@${status}`]?.given ?? HISTORY[status];
          test(`${type} in ${status} by ${kind} is allowed`, () => assert.ok(Array.isArray(decide(SAMPLE[type], given(history).state, ctxOf(ACTORS[kind])))));
          continue;
        }
        test(`${type} in ${status} by ${kind} is refused ${code}`, () => {
          const extensions = code === 'FORBIDDEN' ? { command: type } : { state: status, command: type };
          given(HISTORY[status]).when(SAMPLE[type], ACTORS[kind]).thenRefuses(code, extensions);
        });
      }
    }
  }
});

describe('decide: the rules within a row', () => {
  test('a visitor can never accept, transfer, snooze, wake, requeue, close or write an internal note', () => {
    for (const type of ['accept', 'transfer', 'snooze', 'wake', 'requeue', 'close', 'note'] as const) {
      for (const status of RESTING) given(HISTORY[status]).when(SAMPLE[type], visitor).thenRefuses('FORBIDDEN');
    }
  });

  test('a second accept on an assigned conversation is refused CONVERSATION_ALREADY_ASSIGNED', () => {
    const first = decide({ type: 'accept' }, given(HISTORY.queued).state, ctxOf(agent));
    const state = fold(stored(first, 2), given(HISTORY.queued).state);
    assert.equal(state.agentId, 'a-2');
    assert.throws(() => decide({ type: 'accept' }, state, ctxOf({ kind: 'agent', id: 'a-3' })), { code: 'CONVERSATION_ALREADY_ASSIGNED' });
  });

  test('the system accepts on behalf of a named agent only; an agent accepts for itself only', () => {
    given(HISTORY.queued).when({ type: 'accept' }, system).thenRefuses('VALIDATION_FAILED');
    given(HISTORY.queued).when({ type: 'accept', agentId: 'a-9' }, agent).thenRefuses('FORBIDDEN');
  });

  test('with a bot configured a new conversation goes to the bot, without one straight to the queue', () => {
    const [, next] = decide(SAMPLE.start, initialState(), ctxOf(visitor, { bot: 'builtin' }));
    assert.deepEqual(next, { type: 'conversation.bot_engaged', by: visitor, visibility: 'internal', data: { bot: 'builtin', group: 'sales' } });
  });

  test('the bot\'s handover carries its classification into the queued event (only the fields it set)', () => {
    given(HISTORY.bot).when({ type: 'handover', reason: 'visitor_asked', classification: { intent: 'orders', language: 'de', skills: ['returns'] } }, bot).then([
      { type: 'conversation.queued', by: bot, visibility: 'internal', data: { reason: 'handover', group: 'sales', classification: { intent: 'orders', language: 'de', skills: ['returns'] } } },
    ]);
    given(HISTORY.bot).when({ type: 'handover', classification: { intent: 'billing', language: '', skills: [] } }, bot).then([
      { type: 'conversation.queued', by: bot, visibility: 'internal', data: { reason: 'handover', group: 'sales', classification: { intent: 'billing' } } },
    ]);
    given(HISTORY.bot).when({ type: 'handover', classification: {} }, bot).then([queuedBy(bot, 'handover', 'sales')]);
  });

  test('a classification from anyone but the bot is dropped: a visitor, an agent or a service cannot steer routing with it', () => {
    const steer = { type: 'handover', classification: { intent: 'vip', skills: ['priority'] } } as const;
    for (const actor of [visitor, agent, system]) given(HISTORY.bot).when(steer, actor).then([queuedBy(actor, 'handover', 'sales')]);
  });

  test('the bot\'s findings go onto the queued event and into the state for the agent; anyone else\'s (and empty ones) are dropped', () => {
    const findings = { intent: 'order_status', entities: { order: ['ORD-0001234'] }, records: [{ system: 'orders', type: 'order', id: 'ORD-0001234' }], summary: 'asked where ORD-0001234 is', reason: 'visitor_asked' } as const;
    const queued = { type: 'conversation.queued', by: bot, visibility: 'internal', data: { reason: 'handover', group: 'sales', findings } } as const;
    given(HISTORY.bot).when({ type: 'handover', reason: 'visitor_asked', findings }, bot).then([queued]);
    const state = fold(stored([queued], HISTORY.bot.length), given(HISTORY.bot).state);
    assert.deepEqual([state.status, state.botFindings], ['queued', findings]);
    // A later queue (the agent did not answer) keeps what the bot found.
    const requeued = fold(stored([{ type: 'conversation.queued', by: system, visibility: 'internal', data: { reason: 'agent_timeout', group: 'sales' } }], state.seq), state);
    assert.deepEqual(requeued.botFindings, findings);
    given(HISTORY.bot).when({ type: 'handover', findings: {} }, bot).then([queuedBy(bot, 'handover', 'sales')]);
    for (const actor of [visitor, agent, system]) given(HISTORY.bot).when({ type: 'handover', findings: { summary: 'a VIP, serve first' } }, actor).then([queuedBy(actor, 'handover', 'sales')]);
  });

  test('a visitor starts a conversation for itself only', () => {
    given([]).when({ type: 'start', visitor: { id: 'v-2', site: 'shop' } }, visitor).thenRefuses('FORBIDDEN');
  });

  test('transfer to an agent assigns it to them; to the agent it already has is refused', () => {
    given(HISTORY.assigned).when({ type: 'transfer', to: { agentId: 'a-3' } }, agent).then([
      { type: 'conversation.transferred', by: agent, visibility: 'internal', data: { fromAgentId: 'a-1', to: { agentId: 'a-3' } } },
      { type: 'conversation.assigned', by: agent, visibility: 'public', data: { agentId: 'a-3' } },
    ]);
    given(HISTORY.assigned).when({ type: 'transfer', to: { agentId: 'a-1' } }, agent).thenRefuses('INVALID_TRANSITION', { state: 'assigned', command: 'transfer' });
  });

  test('reopen works within the configured window after the close, and is refused after it', () => {
    const closedAtMs = Date.parse(given(HISTORY.closed).state.closedAt!);
    given(HISTORY.closed).when(SAMPLE.reopen, agent, { nowMs: closedAtMs + WINDOW_MS }).then([
      { type: 'conversation.reopened', by: agent, visibility: 'public', data: {} },
      { type: 'conversation.assigned', by: agent, visibility: 'public', data: { agentId: 'a-2' } },
    ]);
    given(HISTORY.closed).when(SAMPLE.reopen, visitor, { nowMs: closedAtMs + WINDOW_MS + 1 }).thenRefuses('INVALID_TRANSITION', { state: 'closed', command: 'reopen' });
  });

  test('the system closes for idleness; an agent always closes as resolved', () => {
    given(HISTORY.assigned).when({ type: 'close', reason: 'idle' }, system).then([closedBy(system, 'idle')]);
    given(HISTORY.assigned).when({ type: 'close', reason: 'idle' }, agent).then([closedBy(agent, 'resolved')]);
  });

  test('a snooze must end in the future', () => {
    given(HISTORY.assigned).when({ type: 'snooze', untilMs: T0 }, agent).thenRefuses('VALIDATION_FAILED');
    given(HISTORY.assigned).when({ type: 'snooze' }, agent).then([{ type: 'conversation.snoozed', by: agent, visibility: 'internal', data: {} }]);
  });

  test('read receipts only move forward and never past the last seq', () => {
    const state = fold(stored([receipt('conversation.read', visitor)], 3), given(HISTORY.assigned).state);
    assert.deepEqual(decide({ type: 'read', upToSeq: 1 }, state, ctxOf(visitor)), []);
    assert.equal(decide({ type: 'read', upToSeq: 4 }, state, ctxOf(visitor)).length, 1);
    assert.throws(() => decide({ type: 'read', upToSeq: 0 }, state, ctxOf(visitor)), { code: 'VALIDATION_FAILED' });
    const ahead = decide({ type: 'read', upToSeq: 9 }, state, ctxOf(agent));
    assert.equal((ahead[0]?.data as { upToSeq: number }).upToSeq, 4, 'a receipt past the last event stands for the last one');
    assert.equal(decide({ type: 'read', upToSeq: 1 }, state, ctxOf(agent)).length, 1);
  });
});

describe('decide: dispatch (offers, overflow, leaving a message)', () => {
  const OFFERED = [ev.created, ev.queued, ev.offered];
  const customer = { id: 'v-1', site: 'shop', customerId: 'c-9' };
  const createdBy = (ref: typeof VISITOR_REF | typeof customer): DecidedEvent => ({ type: 'conversation.created', by: visitor, visibility: 'public', data: { visitor: ref } });

  test('accept with an offer id assigns it with that offer (the append is idempotent by it), and the offer is over', () => {
    const assignedWithOffer: DecidedEvent = { type: 'conversation.assigned', by: agent, visibility: 'public', data: { agentId: 'a-2', offerId: 'o-1' } };
    given(OFFERED).when({ type: 'accept', offerId: 'o-1' }, agent).then([assignedWithOffer]);
    const state = fold(stored([...OFFERED, assignedWithOffer]));
    assert.equal(state.offer, undefined);
    assert.equal(state.agentId, 'a-2');
  });

  test('another agent\'s claim leaves the open offer recorded until dispatch ends it as cancelled', () => {
    const taken = fold(stored([...OFFERED, ev.assigned]));
    assert.equal(taken.offer?.offerId, 'o-1');
    given([...OFFERED, ev.assigned]).when({ type: 'end_offer', offerId: 'o-1', agentId: 'a-2', outcome: 'cancelled' }, dispatchActor).then([offerEnded(dispatchActor, 'cancelled')]);
  });

  test('transfer to an agent carries the claim dispatch made for it', () => {
    given(HISTORY.assigned).when({ type: 'transfer', to: { agentId: 'a-3' }, offerId: 't-1' }, agent).then([
      { type: 'conversation.transferred', by: agent, visibility: 'internal', data: { fromAgentId: 'a-1', to: { agentId: 'a-3' } } },
      { type: 'conversation.assigned', by: agent, visibility: 'public', data: { agentId: 'a-3', offerId: 't-1' } },
    ]);
  });

  test('an agent declines only its own open offer; any other is refused OFFER_EXPIRED', () => {
    given(HISTORY.queued).when({ type: 'decline', offerId: 'o-1' }, agent).thenRefuses('OFFER_EXPIRED');
    given(OFFERED).when({ type: 'decline', offerId: 'o-2' }, agent).thenRefuses('OFFER_EXPIRED');
    given(OFFERED).when({ type: 'decline', offerId: 'o-1' }, { kind: 'agent', id: 'a-3' }).thenRefuses('OFFER_EXPIRED');
    const ended = fold(stored([...OFFERED, offerEnded(agent, 'declined')]));
    assert.equal(ended.offer, undefined);
    assert.equal(ended.status, 'queued', 'a declined conversation waits on in the queue');
  });

  test('the end of an offer that is not the current one changes nothing', () => {
    given(HISTORY.queued).when(SAMPLE.end_offer, dispatchActor).then([]);
    given([...OFFERED, offerEnded(agent, 'declined')]).when(SAMPLE.end_offer, dispatchActor).then([]);
    given(OFFERED).when({ ...SAMPLE.end_offer, offerId: 'o-0' }, dispatchActor).then([]);
  });

  test('a newer offer records the end of the one it replaces first (the store expired it; the sweeper\'s own end may come after the new offer), so the stream never shows two offers open', () => {
    const next = { ...SAMPLE.offer.offer, offerId: 'o-2', agentId: 'a-3' };
    const offered2: DecidedEvent = { type: 'conversation.offered', by: dispatchActor, visibility: 'internal', data: next };
    const replaced = (outcome: 'expired' | 'cancelled'): DecidedEvent => ({ ...offerEnded(dispatchActor, outcome) });
    given(OFFERED).when({ type: 'offer', offer: next }, dispatchActor, { nowMs: T0 + 30_000 }).then([replaced('expired'), offered2]);
    given(OFFERED).when({ type: 'offer', offer: next }, dispatchActor, { nowMs: T0 + 29_999 }).then([replaced('cancelled'), offered2]);
    // The same offer again (a retried append) ends nothing.
    given(OFFERED).when(SAMPLE.offer, dispatchActor).then([{ type: 'conversation.offered', by: dispatchActor, visibility: 'internal', data: SAMPLE.offer.offer }]);
    // The sweeper's end of the replaced offer, coming later, changes nothing.
    given([...OFFERED, replaced('expired'), offered2]).when(SAMPLE.end_offer, dispatchActor).then([]);
  });

  test('a newer offer replaces the recorded one', () => {
    const second: DecidedEvent = { ...ev.offered, data: { ...ev.offered.data, offerId: 'o-2', agentId: 'a-3' } };
    assert.deepEqual(fold(stored([...OFFERED, second])).offer, { offerId: 'o-2', agentId: 'a-3', expiresAt: ev.offered.data.expiresAt });
  });

  test('overflow to a group moves it there, still queued; a repeat to the same group changes nothing', () => {
    const overflowed = decide(SAMPLE.overflow, given(HISTORY.queued).state, ctxOf(dispatchActor));
    const state = fold(stored(overflowed, 2), given(HISTORY.queued).state);
    assert.deepEqual([state.status, state.group], ['queued', 'orders']);
    assert.deepEqual(decide(SAMPLE.overflow, state, ctxOf(dispatchActor)), []);
  });

  test('overflow to leaving a message asks the visitor publicly, with an email only when it is not a known customer', () => {
    const ask = { type: 'overflow', to: { leaveMessage: true }, reason: 'closed' } as const;
    const overflowed: DecidedEvent = { type: 'conversation.overflowed', by: dispatchActor, visibility: 'internal', data: { fromGroup: 'sales', to: { leaveMessage: true }, reason: 'closed' } };
    given([createdBy(VISITOR_REF), ev.queued]).when(ask, dispatchActor).then([
      overflowed, { type: 'conversation.message_requested', by: dispatchActor, visibility: 'public', data: { reason: 'closed', emailRequired: true } },
    ]);
    given([createdBy(customer), ev.queued]).when(ask, dispatchActor).then([
      overflowed, { type: 'conversation.message_requested', by: dispatchActor, visibility: 'public', data: { reason: 'closed', emailRequired: false } },
    ]);
    const asked = fold(stored(decide(ask, given(HISTORY.queued).state, ctxOf(dispatchActor)), 2), given(HISTORY.queued).state);
    assert.equal(asked.awaitingMessage, true);
    assert.deepEqual(decide(ask, asked, ctxOf(dispatchActor)), [], 'asked once');
  });

  test('a visitor leaves a message: it closes the conversation (left_message) and records the ticket job', () => {
    const state = fold(stored([...HISTORY.queued, { type: 'conversation.message_requested', by: dispatchActor, visibility: 'public', data: { reason: 'closed', emailRequired: true } }, ...left(visitor)]));
    assert.deepEqual([state.status, state.closeReason, state.ticketJobId, state.awaitingMessage], ['closed', 'left_message', 'cm_1', undefined]);
  });

  test('leaving a message: an anonymous visitor must give a valid email; a known customer need not; the text is 1 … 4000 characters', () => {
    const leave = (extra: Partial<Extract<DeciderCommand, { type: 'leave_message' }>>) => ({ type: 'leave_message', text: 'call me', ticketJobId: 'cm_1', ...extra }) as const;
    given(HISTORY.queued).when(leave({}), visitor).thenRefuses('VALIDATION_FAILED', { field: 'email' });
    given(HISTORY.queued).when(leave({ email: 'not-an-address' }), visitor).thenRefuses('VALIDATION_FAILED', { field: 'email' });
    given(HISTORY.queued).when(leave({ email: 'v@example.com', text: '  ' }), visitor).thenRefuses('VALIDATION_FAILED', { field: 'text' });
    given(HISTORY.queued).when(leave({ email: 'v@example.com', text: 'x'.repeat(4_001) }), visitor).thenRefuses('VALIDATION_FAILED', { field: 'text' });
    assert.equal(decide(leave({ email: 'v@example.com', text: 'x'.repeat(4_000) }), given(HISTORY.queued).state, ctxOf(visitor)).length, 2);
    given([createdBy(customer), ev.queued]).when(leave({}), visitor).then([
      { type: 'conversation.message_left', by: visitor, visibility: 'public', data: { text: 'call me', ticketJobId: 'cm_1' } },
      { type: 'conversation.closed', by: visitor, visibility: 'public', data: { reason: 'left_message' } },
    ]);
  });

  test('no message is left without a ticket job to make it a ticket, nor once an agent has the conversation', () => {
    given(HISTORY.queued).when({ type: 'leave_message', text: 'call me', email: 'v@example.com' }, visitor).thenRefuses('INVALID_TRANSITION');
    given(HISTORY.assigned).when(SAMPLE.leave_message, visitor).thenRefuses('INVALID_TRANSITION', { state: 'assigned', command: 'leave_message' });
    given(HISTORY.queued).when(SAMPLE.leave_message, agent).thenRefuses('FORBIDDEN');
  });

  test('the ticket is recorded for the job of the message left here only, once', () => {
    given(LEFT).when({ ...SAMPLE.ticket_opened, ticketJobId: 'cm_2' }, dispatchActor).thenRefuses('INVALID_TRANSITION', { state: 'closed', command: 'ticket_opened' });
    given(HISTORY.closed).when(SAMPLE.ticket_opened, dispatchActor).thenRefuses('INVALID_TRANSITION');
    const opened = fold(stored([...LEFT, ticketOpened(dispatchActor)]));
    assert.equal(opened.ticketId, 'TCK-1');
    assert.deepEqual(decide(SAMPLE.ticket_opened, opened, ctxOf(dispatchActor)), []);
  });

  test('route records the decision and takes its group and priority', () => {
    const decision = { ...SAMPLE.route.decision, group: 'orders', priority: 70 };
    const state = fold(stored(decide({ type: 'route', decision }, given(HISTORY.queued).state, ctxOf(dispatchActor)), 2), given(HISTORY.queued).state);
    assert.deepEqual([state.status, state.group, state.priority], ['queued', 'orders', 70]);
  });

  test('only dispatch (a system actor) routes, offers, ends offers, overflows and records tickets', () => {
    for (const type of ['route', 'offer', 'end_offer', 'overflow', 'ticket_opened'] as const) {
      for (const actor of [visitor, agent, bot]) given(HISTORY.queued).when(SAMPLE[type], actor).thenRefuses('FORBIDDEN', { command: type });
    }
  });
});

describe('evolve: the fold', () => {
  test('starts at none with nothing read', () => {
    assert.deepEqual(initialState(), { status: 'none', seq: 0, messageCount: 0, readUpTo: {}, deliveredUpTo: {} });
  });

  test('follows a conversation through bot, queue, agent, snooze, wake, close and reopen', () => {
    const steps: [DecidedEvent[], Record<string, unknown>][] = [
      [[ev.created], { status: 'new', group: undefined, visitor: VISITOR_REF }],
      [[ev.botEngaged], { status: 'bot', bot: 'builtin', group: 'sales' }],
      [[queuedBy(bot, 'handover')], { status: 'queued', group: 'sales' }],
      [[ev.assigned], { status: 'assigned', agentId: 'a-1' }],
      [[msg(agent, 'public', SAMPLE.send)], { messageCount: 1, lastMessage: { seq: 5, at: new Date(T0 + 5).toISOString(), author: 'agent' } }],
      [[msg(agent, 'internal', SAMPLE.note)], { messageCount: 2, lastMessage: { seq: 5, at: new Date(T0 + 5).toISOString(), author: 'agent' } }],
      [[ev.snoozed], { status: 'pending', snoozedUntilMs: T0 + 5_000 }],
      [[{ type: 'conversation.woke', by: system, visibility: 'internal', data: { reason: 'snooze_ended' } }], { status: 'assigned', snoozedUntilMs: undefined }],
      [transferToBilling(agent, 'a-1'), { status: 'queued', group: 'billing', agentId: undefined }],
      [[closedBy(system, 'abandoned')], { status: 'closed', closeReason: 'abandoned', closedAt: new Date(T0 + 11).toISOString() }],
      [[{ type: 'conversation.reopened', by: visitor, visibility: 'public', data: {} }, queuedBy(visitor, 'reopened')], { status: 'queued', closedAt: undefined, closeReason: undefined, seq: 13 }],
    ];
    let state = initialState();
    for (const [events, expected] of steps) {
      state = fold(stored(events, state.seq), state);
      for (const [field, value] of Object.entries(expected)) assert.deepEqual(state[field as keyof typeof state], value, `${field} after ${events.map((e) => e.type).join(', ')}`);
    }
  });

  test('the fold of any prefix is the state as it was at that seq', () => {
    const events = stored([...HISTORY.pending, ...transferToBilling(agent, 'a-1')]);
    assert.equal(fold(events.slice(0, 3)).status, 'assigned');
    assert.equal(fold(events.slice(0, 4)).status, 'pending');
    assert.deepEqual(fold(events.slice(0, 4)), fold(events.slice(2, 4), fold(events.slice(0, 2))));
  });

  test('keeps the topic and page the widget sent at start', () => {
    const [created] = decide({ ...SAMPLE.start, topic: 'returns', page: 'https://shop.example/orders/42' }, initialState(), ctxOf(visitor));
    const state = fold(stored([created!]));
    assert.deepEqual([state.topic, state.page], ['returns', 'https://shop.example/orders/42']);
  });

  test('receipts keep the highest seq per participant', () => {
    const state = [3, 1].reduce((s, upToSeq) => evolve(s, { type: 'conversation.delivered', by: agent, visibility: 'public', data: { participant: agent, upToSeq }, seq: s.seq + 1, id: 'x', at: 'y' }), initialState());
    assert.deepEqual(state.deliveredUpTo, { 'agent:a-2': 3 });
  });
});
