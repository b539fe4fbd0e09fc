import type { DispatchAgent } from '../../ports/dispatch-store.ts';
import type { AgentPresence, PresenceStore } from '../../ports/presence-store.ts';
import type { AgentDirectory, AgentProfile } from '../identity/agent-directory.ts';
import type { DispatchContext } from './dispatch-context.ts';

/** The agents as dispatch sees them: the directory's profile with the presence's status. */
export interface DispatchAgents {
  /** One agent changed (presence, or its profile in the directory): its profile and presence, read now, are written to the store, and its groups pumped. */
  sync(agentId: string): Promise<void>;
  /** Every agent of the directory, with its presence now (a node's start, and every agent resync interval). */
  syncAll(): Promise<void>;
  /** Sets an agent away in the store at once (K missed offers), before its sockets' presence follows. */
  setAway(agentId: string): Promise<void>;
}

export interface DispatchAgentsDeps {
  readonly ctx: DispatchContext;
  readonly directory: Pick<AgentDirectory, 'get' | 'list'>;
  readonly presence: Pick<PresenceStore, 'get' | 'list'>;
}

const asAgent = (profile: AgentProfile, status: AgentPresence): DispatchAgent => ({
  agentId: profile.id, groups: profile.groups, skills: profile.skills, languages: profile.languages, maxConcurrent: profile.maxConcurrent, status,
});

export function createDispatchAgents({ ctx, directory, presence }: DispatchAgentsDeps): DispatchAgents {
  // One agent's own read: reading every agent's presence for each change made n agents coming online cost n² round trips.
  const presenceOf = (agentId: string): Promise<AgentPresence> => presence.get(agentId);
  /** One agent's syncs run one after the other on this node: each reads profile and presence afresh, so an older read never lands last. */
  const queues = new Map<string, Promise<void>>();
  /** Syncs asked for each agent on this node, so a resync does not write an older presence read over a newer sync. */
  const syncs = new Map<string, number>();
  function serially(agentId: string, work: () => Promise<void>): Promise<void> {
    const run = (queues.get(agentId) ?? Promise.resolve()).catch(() => undefined).then(work);
    const tail = run.finally(() => {
      if (queues.get(agentId) === tail) queues.delete(agentId);
    });
    queues.set(agentId, tail);
    return run;
  }

  async function write(profile: AgentProfile, status: AgentPresence): Promise<void> {
    await ctx.store.setAgent(asAgent(profile, status), ctx.now());
    ctx.log.debug({ agentId: profile.id, status, groups: profile.groups }, 'dispatch agent synced');
  }

  /** `known`: the agent's presence read for a whole resync (one read for every agent), unless a sync of its own came since. */
  async function syncNow(agentId: string, known?: AgentPresence): Promise<readonly string[]> {
    const [profile, status] = await Promise.all([directory.get(agentId), known ?? presenceOf(agentId)]);
    // Not in the directory (removed, or never there): it gets no offers; what it holds stays its own.
    if (profile === undefined) {
      await ctx.store.removeAgent(agentId);
      return [];
    }
    // The store starts its misses again when it comes online from another status (setAgent, in
    // the same step): resetting them on every sync let a periodic resync between two missed
    // offers forget the first, so an agent who never answered was never set away.
    await write(profile, status);
    return status === 'online' ? profile.groups : [];
  }

  return {
    async sync(agentId) {
      let groups: readonly string[] = [];
      syncs.set(agentId, (syncs.get(agentId) ?? 0) + 1);
      await serially(agentId, async () => void (groups = await syncNow(agentId)));
      await Promise.all(groups.map((g) => ctx.pump(g)));
    },
    async syncAll() {
      // One presence read for every agent (not one per agent: a thousand agents would read the list a thousand times).
      const counted = new Map(syncs);
      const [profiles, present] = await Promise.all([directory.list(), presence.list()]);
      const statusOf = new Map(present.map((p) => [p.agentId, p.status] as const));
      const groups = new Set<string>();
      await Promise.all(profiles.map((p) => serially(p.id, async () => {
        // A sync of its own since the read knows better: the read is not written over it.
        const known = syncs.get(p.id) === counted.get(p.id) ? (statusOf.get(p.id) ?? 'offline') : undefined;
        for (const g of await syncNow(p.id, known)) groups.add(g);
      })));
      await Promise.all([...groups].map((g) => ctx.pump(g)));
    },
    async setAway(agentId) {
      await serially(agentId, async () => {
        const profile = await directory.get(agentId);
        if (profile !== undefined) await write(profile, 'away');
      });
    },
  };
}
