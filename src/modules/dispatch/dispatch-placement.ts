import { randomUUID } from 'node:crypto';
import type { QueueEntry } from '../../ports/dispatch-store.ts';
import type { Classification, ConversationEvent, ConversationState } from '../chat/conversation.types.ts';
import { customerKeyOf, isRefusal, policyOf, type DispatchContext } from './dispatch-context.ts';
import { rankOf } from './routing-rules.ts';
import type { OverflowTarget, RoutingDecision } from './routing.types.ts';

/** Overflow from group to group stops after this many hops (a cycle in the rules must not loop). */
export const MAX_OVERFLOW_HOPS = 3;

/** What a waiting conversation needs, whichever group it waits in. */
export type Wants = Omit<QueueEntry, 'conversationId' | 'group' | 'excluded'>;

/** Routing a conversation that entered the queue, and moving waiting ones between groups. */
export interface Placement {
  /** facts → rules → `route` event → open and staffed? → the group's queue (or overflow) → pump. */
  route(conversationId: string, state: ConversationState, queued: Extract<ConversationEvent, { type: 'conversation.queued' }>): Promise<void>;
  /** A conversation taken out of `from`'s queue goes where the policy says (`wait_exceeded`). */
  overflow(conversationId: string, from: string, to: OverflowTarget, wants: Wants, reason: 'nobody_online' | 'closed' | 'wait_exceeded', hops?: number): Promise<void>;
}

export function createPlacement(ctx: DispatchContext): Placement {
  const log = ctx.log;

  async function anyoneOnline(group: string): Promise<boolean> {
    return (await ctx.store.agents(group)).some((a) => a.status === 'online');
  }

  /** Into `group`'s queue, unless it is closed or (when its policy says where to go) nobody there is online. */
  async function place(conversationId: string, group: string, wants: Wants, hops: number): Promise<void> {
    const rules = await ctx.rules();
    const policy = policyOf(rules, group);
    if (policy.hours !== undefined && !ctx.isOpen(policy.hours, ctx.now())) {
      return overflow(conversationId, group, policy.overflow?.whenClosed ?? { leaveMessage: true }, wants, 'closed', hops);
    }
    const whenNobody = policy.overflow?.whenNobodyOnline;
    if (whenNobody !== undefined && !(await anyoneOnline(group))) return overflow(conversationId, group, whenNobody, wants, 'nobody_online', hops);
    const added = await ctx.store.enqueue({ conversationId, group, ...wants, rank: rankOf(wants.priority, wants.enqueuedAtMs, rules) });
    log.debug({ conversationId, group, priority: wants.priority, added }, 'conversation queued for dispatch');
    await ctx.pump(group);
  }

  async function overflow(conversationId: string, from: string, to: OverflowTarget, wants: Wants, reason: 'nobody_online' | 'closed' | 'wait_exceeded', hops = 0): Promise<void> {
    const onward = 'group' in to && hops < MAX_OVERFLOW_HOPS && to.group !== from ? to : undefined;
    const target: OverflowTarget = 'group' in to && onward === undefined ? { leaveMessage: true } : to;
    try {
      // Idempotent by where it was and when it began waiting: a repeat (two nodes sweeping) is stored once.
      await ctx.conversations().dispatch(conversationId, { type: 'overflow', to: target, reason }, `overflow:${from}:${wants.enqueuedAtMs}:${hops}`);
    } catch (err) {
      if (isRefusal(err)) return log.debug({ conversationId, err }, 'overflow refused: the conversation moved on');
      throw err;
    }
    await ctx.store.count(from, 'overflowed');
    log.info({ conversationId, from, to: target, reason }, 'conversation overflowed');
    if (onward) await place(conversationId, onward.group, wants, hops + 1);
  }

  return {
    overflow,
    async route(conversationId, state, queued) {
      const rules = await ctx.rules();
      const classification: Classification | undefined = queued.data.classification;
      const gathered = await ctx.facts({ conversationId, state, ...(classification === undefined ? {} : { classification }) });
      const named = queued.data.group;
      const result = ctx.evaluate(rules, gathered.facts, named === undefined ? {} : { group: named });
      // A transfer to a group is the agent's (or supervisor's) choice: the rules' group does not override it.
      const group = queued.data.reason === 'transferred' && named !== undefined ? named : result.group;
      const decision: RoutingDecision = {
        ...result, group, decisionId: randomUUID(), rulesVersion: rules.version, facts: gathered.facts, sources: gathered.sources,
        missing: gathered.sources.filter((s) => s.status === 'missing').map((s) => s.name), decidedAt: new Date(ctx.now()).toISOString(),
      };
      try {
        // One decision per entry into the queue, whichever node (or retry) records it.
        await ctx.conversations().dispatch(conversationId, { type: 'route', decision }, `route:${queued.id}`);
      } catch (err) {
        if (isRefusal(err)) return log.debug({ conversationId, err }, 'routing refused: the conversation moved on');
        throw err;
      }
      const customerKey = customerKeyOf(state);
      const sticky = customerKey === undefined ? undefined : await ctx.store.lastAgent(customerKey);
      const wants: Wants = {
        priority: decision.priority, enqueuedAtMs: ctx.now(), skills: decision.skills,
        ...(decision.language === undefined ? {} : { language: decision.language }), ...(sticky === undefined ? {} : { stickyAgentId: sticky }),
      };
      log.info({ conversationId, group, priority: decision.priority, missing: decision.missing, rulesVersion: rules.version }, 'conversation routed');
      await place(conversationId, group, wants, 0);
    },
  };
}
