import type { GroupStats } from '../../ports/dispatch-store.ts';

/** One group's numbers as supervisors see them (GET /v1/queues, its SSE stream). */
export interface QueueView {
  readonly group: string;
  /** Conversations waiting in the group's queue (offered ones are not in it: see `openOffers`). */
  readonly queued: number;
  /** When the longest-waiting one entered the queue (RFC 3339); absent when none waits. */
  readonly oldestEnqueuedAt?: string;
  /** How long it has waited, at `at`; 0 when none waits. */
  readonly longestWaitMs: number;
  readonly openOffers: number;
  /** Offers since the store began, cluster-wide: made, and how they ended. */
  readonly offers: { readonly made: number; readonly accepted: number; readonly declined: number; readonly expired: number };
  /** Assignments since the store began (`total`), in the last minute, and that minute's rate per second. */
  readonly assignments: { readonly total: number; readonly lastMinute: number; readonly perSecond: number };
  /** Conversations sent on from this group (to another group, or to leave a message). */
  readonly overflowed: number;
  /** The group's agents by status; `load`: conversations its agents hold (offers included, any status); `capacity`: the sum of its online agents' maxima. An agent in two groups counts in both. */
  readonly agents: { readonly online: number; readonly away: number; readonly offline: number; readonly load: number; readonly capacity: number };
}

/** Every group's numbers at one moment. */
export interface QueuesView {
  /** When the numbers were read (RFC 3339). */
  readonly at: string;
  /** By group name. */
  readonly queues: readonly QueueView[];
}

const MINUTE_S = 60;

/** One group's store numbers shaped for supervisors, waits measured at `nowMs`. */
export function toQueueView(stats: GroupStats, nowMs: number): QueueView {
  const { counters, agents } = stats;
  const oldest = stats.oldestEnqueuedAtMs;
  return {
    group: stats.group,
    queued: stats.queued,
    ...(oldest === undefined ? {} : { oldestEnqueuedAt: new Date(oldest).toISOString() }),
    // A clock a little behind the node that enqueued must not show a negative wait.
    longestWaitMs: oldest === undefined ? 0 : Math.max(0, nowMs - oldest),
    openOffers: stats.openOffers,
    offers: { made: counters.offered, accepted: counters.accepted, declined: counters.declined, expired: counters.expired },
    assignments: { total: counters.assigned, lastMinute: stats.assignedLastMinute, perSecond: Math.round((stats.assignedLastMinute / MINUTE_S) * 1000) / 1000 },
    overflowed: counters.overflowed,
    agents: { online: agents.online, away: agents.away, offline: agents.offline, load: agents.load, capacity: agents.capacity },
  };
}

/** Every group's numbers, by group name. */
export function toQueuesView(stats: readonly GroupStats[], nowMs: number): QueuesView {
  return { at: new Date(nowMs).toISOString(), queues: sortedByGroup(stats).map((s) => toQueueView(s, nowMs)) };
}

/**
 * A value that changes exactly when the store's numbers do. The waits are left out (they grow by
 * themselves; `oldestEnqueuedAt` says when the wait began), so an unchanged queue is not news.
 */
export function statsSignature(stats: readonly GroupStats[]): string {
  return JSON.stringify(sortedByGroup(stats).map((s) => [s.group, s.queued, s.oldestEnqueuedAtMs ?? null, s.openOffers, s.agents, s.counters, s.assignedLastMinute]));
}

const sortedByGroup = (stats: readonly GroupStats[]) => [...stats].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));

/** `read()`, or undefined once `timeoutMs` have passed (the read goes on, unheard). Its failure rejects as usual. */
export async function withDeadline<T>(read: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
  try {
    return await Promise.race([read, late]);
  } finally {
    clearTimeout(timer);
  }
}
