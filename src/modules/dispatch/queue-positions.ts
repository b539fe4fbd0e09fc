import type { DispatchStore, GroupStats } from '../../ports/dispatch-store.ts';
import type { DispatchSockets } from './dispatch-context.ts';

/** What a visitor is told of its place: `estimatedWaitMs` null when the group assigned nothing in the last minute. */
export interface QueuePosition {
  readonly conversationId: string;
  readonly group: string;
  readonly position: number;
  readonly estimatedWaitMs: number | null;
}

/** The estimated wait at a position: the group's recent pace (assignments in the last minute), or null when there is none to go by. */
export function estimatedWaitMs(position: number, stats: Pick<GroupStats, 'assignedLastMinute'> | undefined): number | null {
  if (stats === undefined || stats.assignedLastMinute <= 0) return null;
  return Math.round((position * 60_000) / stats.assignedLastMinute);
}

/**
 * One node's positions tick: for the queued conversations its visitors follow, their positions in
 * one store call, and a `queue` frame to those visitors when a position (or the estimate) changed
 * since the last one sent. Its cost is the node's followed conversations, never the queue's length.
 */
export function createQueuePositions(store: Pick<DispatchStore, 'positions' | 'stats'>, nowMs: () => number) {
  const told = new Map<string, string>();
  return {
    async tick(sockets: DispatchSockets): Promise<number> {
      const followed = sockets.visitorFollowed();
      const positions = followed.length === 0 ? new Map<string, { group: string; position: number }>() : await store.positions(followed);
      for (const id of told.keys()) if (!positions.has(id)) told.delete(id);
      if (positions.size === 0) return 0;
      const stats = new Map((await store.stats(nowMs())).map((s) => [s.group, s]));
      let sent = 0;
      for (const [conversationId, { group, position }] of positions) {
        const update: QueuePosition = { conversationId, group, position, estimatedWaitMs: estimatedWaitMs(position, stats.get(group)) };
        const key = `${position}:${update.estimatedWaitMs}`;
        if (told.get(conversationId) === key) continue;
        told.set(conversationId, key);
        // The group is routing detail: the visitor learns its place and the wait only.
        sockets.sendToVisitors(conversationId, 'queue', { conversationId, position, estimatedWaitMs: update.estimatedWaitMs });
        sent += 1;
      }
      return sent;
    },
  };
}
