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
 * their last word or the last move; assigned, whoever spoke last is waiting for the other; a
 * snooze with an end runs out then. A timer that fires checks it is still this plan (same kind,
 * same seq), so one set before the conversation moved on does nothing.
 */
export function timerOf(state: ConversationState, settings: TimerSettings, nowMs: number): TimerPlan | undefined {
  const since = state.sinceSeq ?? 0;
  const last = state.lastMessage !== undefined && state.lastMessage.seq > since ? state.lastMessage : undefined;
  switch (state.status) {
    case 'bot':
    case 'queued':
      return { kind: 'visitor_idle', armedAtSeq: last?.author === 'visitor' ? last.seq : since, delayMs: settings.visitorIdleMs };
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

const sameTimer = (a: TimerPlan | undefined, b: TimerPlan | undefined): boolean => a?.kind === b?.kind && a?.armedAtSeq === b?.armedAtSeq;

interface TimerJob extends JobEnvelope {
  readonly conversationId: string;
  readonly kind: TimerKind;
  readonly armedAtSeq: number;
}

export interface ConversationTimers {
  /** After an append: cancels the timer the old state had and sets the one the new state calls for (when they differ). Never throws. */
  sync(conversationId: string, before: ConversationState, after: ConversationState): Promise<void>;
}

export interface ConversationTimersDeps {
  readonly jobs: JobQueues;
  readonly settings: TimerSettings;
  readonly log: Logger;
  readonly now: () => number;
  /** Runs a timer that fired: a no-op unless the conversation still calls for this very timer. */
  readonly fire: (conversationId: string, kind: TimerKind, armedAtSeq: number) => Promise<void>;
}

/** Timers as delayed jobs (BullMQ in the gateway): they survive a restart and run on whichever node takes them. */
export function createConversationTimers(deps: ConversationTimersDeps): ConversationTimers {
  const log = deps.log.child({ module: 'conversation-timers' });
  const queue = deps.jobs.define<TimerJob>({
    queue: CONVERSATION_TIMER_QUEUE,
    type: 'conversation.timer',
    idPrefix: 'ct',
    process: (job) => deps.fire(job.data.conversationId, job.data.kind, job.data.armedAtSeq),
  });
  const idOf = (conversationId: string, plan: TimerPlan): string => `ct_${conversationId}_${plan.kind}_${plan.armedAtSeq}`;

  return {
    async sync(conversationId, before, after) {
      const nowMs = deps.now();
      const old = timerOf(before, deps.settings, nowMs);
      const next = timerOf(after, deps.settings, nowMs);
      if (sameTimer(old, next)) return;
      try {
        // A timer that could not be cancelled is harmless: it finds its plan gone and does nothing.
        if (old) await queue.cancel(idOf(conversationId, old));
        if (next) await queue.add(idOf(conversationId, next), { owner: 'system', conversationId, kind: next.kind, armedAtSeq: next.armedAtSeq }, { delayMs: Math.max(1, next.delayMs) });
      } catch (err) {
        log.warn({ err, conversationId, timer: next?.kind }, 'conversation timer not set');
      }
    },
  };
}
