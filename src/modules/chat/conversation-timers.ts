import type { ChatConfig } from '../../config/chat-config.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { JobEnvelope, JobQueues } from '../jobs/job-queues.ts';
import type { ConversationState, DeciderCommand } from './conversation.types.ts';

export const CONVERSATION_TIMER_QUEUE = 'conversation-timers';

/** `visitor_idle`: the visitor is silent (waiting, or after the agent spoke); `agent_answer`: the agent is; `snooze_end`: a snooze runs out. */
export type TimerKind = 'visitor_idle' | 'agent_answer' | 'snooze_end';

/** The one timer a conversation's state calls for: what, counted from which seq, and how long from now. */
export interface TimerPlan {
  readonly kind: TimerKind;
  readonly armedAtSeq: number;
  readonly delayMs: number;
}

type TimerSettings = Pick<ChatConfig, 'visitorIdleMs' | 'agentAnswerMs'>;

/**
 * The timer a state calls for, if any. Pure. Waiting (bot, queue) the visitor's silence runs from
 * the last public message (theirs or the bot's answer) or the last move; assigned, whoever spoke last is waiting for the other; a
 * snooze with an end runs out then. A timer that fires checks it is still this plan (same kind,
 * same seq), so one set before the conversation moved on does nothing.
 */
export function timerOf(state: ConversationState, settings: TimerSettings, nowMs: number): TimerPlan | undefined {
  const since = state.sinceSeq ?? 0;
  const last = state.lastMessage !== undefined && state.lastMessage.seq > since ? state.lastMessage : undefined;
  switch (state.status) {
    case 'bot':
    case 'queued':
      return { kind: 'visitor_idle', armedAtSeq: last?.seq ?? since, delayMs: settings.visitorIdleMs };
    case 'assigned':
      return last?.author === 'agent'
        ? { kind: 'visitor_idle', armedAtSeq: last.seq, delayMs: settings.visitorIdleMs }
        : { kind: 'agent_answer', armedAtSeq: last?.seq ?? since, delayMs: settings.agentAnswerMs };
    case 'pending':
      return state.snoozedUntilMs === undefined ? undefined : { kind: 'snooze_end', armedAtSeq: since, delayMs: Math.max(0, state.snoozedUntilMs - nowMs) };
    default:
      return undefined;
  }
}

/** What a timer does when it fires while its plan still holds. */
export function commandOfTimer(kind: TimerKind, state: ConversationState): DeciderCommand {
  if (kind === 'snooze_end') return { type: 'wake' };
  if (kind === 'agent_answer') return { type: 'requeue' };
  return state.status === 'assigned' ? { type: 'close', reason: 'idle' } : { type: 'abandon' };
}

/**
 * Whether a message moved the timer on without changing its kind: the timer already set stays
 * and, when it fires, sets itself again for the time left (see `timerFired`). Snoozes end at a
 * set time, so they are never moved this way.
 */
export function isMovedByMessage(old: TimerPlan | undefined, next: TimerPlan | undefined, after: ConversationState): boolean {
  return old !== undefined && next !== undefined && old.kind === next.kind && next.kind !== 'snooze_end'
    && next.armedAtSeq > old.armedAtSeq && next.armedAtSeq === after.lastMessage?.seq;
}

/**
 * What a timer that fired does, given the state now. Pure. `act`: its plan still holds (the
 * same kind armed at its seq, or a message moved it and the time since that message has run
 * out); `later`: a message moved it and time is left: it sets itself again for that; nothing
 * (undefined) when the conversation no longer calls for it (another timer was set for what
 * moved it, or none is needed).
 */
export function timerFired(state: ConversationState, kind: TimerKind, armedAtSeq: number, settings: TimerSettings, nowMs: number): { act: DeciderCommand } | { later: TimerPlan } | undefined {
  const plan = timerOf(state, settings, nowMs);
  if (plan?.kind !== kind || plan.armedAtSeq < armedAtSeq) return undefined;
  if (plan.armedAtSeq === armedAtSeq) return { act: commandOfTimer(kind, state) };
  if (kind === 'snooze_end' || plan.armedAtSeq !== state.lastMessage?.seq) return undefined;
  const leftMs = Date.parse(state.lastMessage.at) + plan.delayMs - nowMs;
  return leftMs > 0 ? { later: { ...plan, delayMs: leftMs } } : { act: commandOfTimer(kind, state) };
}

const sameTimer = (a: TimerPlan | undefined, b: TimerPlan | undefined): boolean => a?.kind === b?.kind && a?.armedAtSeq === b?.armedAtSeq;

interface TimerJob extends JobEnvelope {
  readonly conversationId: string;
  readonly kind: TimerKind;
  readonly armedAtSeq: number;
}

export interface ConversationTimers {
  /**
   * After an append: when the timer's kind changes (or one starts or ends), cancels the old one
   * and sets the new one. A message that only moves the timer on sets nothing: the timer set
   * sets itself again when it fires. Never throws.
   */
  sync(conversationId: string, before: ConversationState, after: ConversationState): Promise<void>;
  /** Sets a timer again for the time a message left it (`timerFired` said `later`). Throws when it could not: the job that fired fails and is retried. */
  rearm(conversationId: string, plan: TimerPlan): Promise<void>;
}

export interface ConversationTimersDeps {
  readonly jobs: JobQueues;
  readonly settings: TimerSettings;
  readonly log: Logger;
  readonly now: () => number;
  /** Runs a timer that fired: acts, sets itself again (`rearm`), or does nothing (see `timerFired`). */
  readonly fire: (conversationId: string, kind: TimerKind, armedAtSeq: number) => Promise<void>;
}

/**
 * Timers as delayed jobs (BullMQ in the gateway): they survive a restart and run on whichever
 * node takes them. One job per timer kind a conversation enters, not one per message: its id
 * names the seq it was armed at, and one moved on by messages is set again under the seq of the
 * last (so two that fire for the same deadline set one job).
 */
export function createConversationTimers(deps: ConversationTimersDeps): ConversationTimers {
  const log = deps.log.child({ module: 'conversation-timers' });
  const queue = deps.jobs.define<TimerJob>({
    queue: CONVERSATION_TIMER_QUEUE,
    type: 'conversation.timer',
    idPrefix: 'ct',
    process: (job) => deps.fire(job.data.conversationId, job.data.kind, job.data.armedAtSeq),
  });
  const idOf = (conversationId: string, plan: TimerPlan): string => `ct_${conversationId}_${plan.kind}_${plan.armedAtSeq}`;
  const add = (conversationId: string, plan: TimerPlan) =>
    queue.add(idOf(conversationId, plan), { owner: 'system', conversationId, kind: plan.kind, armedAtSeq: plan.armedAtSeq }, { delayMs: Math.max(1, Math.ceil(plan.delayMs)) });

  return {
    async sync(conversationId, before, after) {
      const nowMs = deps.now();
      const old = timerOf(before, deps.settings, nowMs);
      const next = timerOf(after, deps.settings, nowMs);
      if (sameTimer(old, next) || isMovedByMessage(old, next, after)) return;
      try {
        // A timer that could not be cancelled (or was set under another seq: moved on by messages) is harmless: it finds its plan gone and does nothing.
        if (old) await queue.cancel(idOf(conversationId, old));
        // When none follows (closed, snoozed), the one set when the state last moved goes too, if messages moved it on since.
        const since = before.sinceSeq;
        if (old && !next && since !== undefined && since < old.armedAtSeq) await queue.cancel(idOf(conversationId, { ...old, armedAtSeq: since }));
        if (next) await add(conversationId, next);
      } catch (err) {
        log.warn({ err, conversationId, timer: next?.kind }, 'conversation timer not set');
      }
    },

    async rearm(conversationId, plan) {
      await add(conversationId, plan);
    },
  };
}
