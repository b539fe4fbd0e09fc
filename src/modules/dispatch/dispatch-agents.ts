import type { DispatchAgent } from '../../ports/dispatch-store.ts';
import type { AgentPresence, PresenceStore } from '../../ports/presence-store.ts';
import type { AgentDirectory, AgentProfile } from '../identity/agent-directory.ts';
import type { DispatchContext } from './dispatch-context.ts';

/** The agents as dispatch sees them: the directory's profile with the presence's status. */
export interface DispatchAgents {
  /** One agent changed (presence, or its profile in the directory): written to the store, its groups pumped. `status` absent: read from presence. */
  sync(agentId: string, status?: AgentPresence): Promise<void>;
  /** Every agent of the directory, with its presence now (a node's start). */
  syncAll(): Promise<void>;
  /** Sets an agent away in the store at once (K missed offers), before its sockets' presence follows. */
  setAway(agentId: string): Promise<void>;
}

export interface DispatchAgentsDeps {
  readonly ctx: DispatchContext;
  readonly directory: Pick<AgentDirectory, 'get' | 'list'>;
  readonly presence: Pick<PresenceStore, 'list'>;
}

const asAgent = (profile: AgentProfile, status: AgentPresence): DispatchAgent => ({
  agentId: profile.id, groups: profile.groups, skills: profile.skills, languages: profile.languages, maxConcurrent: profile.maxConcurrent, status,
});

export function createDispatchAgents({ ctx, directory, presence }: DispatchAgentsDeps): DispatchAgents {
  const presenceOf = async (agentId: string): Promise<AgentPresence> => (await presence.list()).find((p) => p.agentId === agentId)?.status ?? 'offline';

  async function write(profile: AgentProfile, status: AgentPresence): Promise<void> {
    await ctx.store.setAgent(asAgent(profile, status), ctx.now());
    ctx.log.debug({ agentId: profile.id, status, groups: profile.groups }, 'dispatch agent synced');
  }

  return {
    async sync(agentId, status) {
      const profile = await directory.get(agentId);
      // Not in the directory (removed, or never there): it gets no offers; what it holds stays its own.
      if (profile === undefined) return ctx.store.removeAgent(agentId);
      const now = status ?? (await presenceOf(agentId));
      // Back online: its misses start again (an agent set away for missed offers is trusted once more).
      if (now === 'online') await ctx.store.resetMisses(agentId);
      await write(profile, now);
      if (now === 'online') await Promise.all(profile.groups.map((g) => ctx.pump(g)));
    },
    async syncAll() {
      const [profiles, present] = await Promise.all([directory.list(), presence.list()]);
      const statusOf = new Map(present.map((p) => [p.agentId, p.status]));
      for (const profile of profiles) await write(profile, statusOf.get(profile.id) ?? 'offline');
      const groups = new Set(profiles.filter((p) => statusOf.get(p.id) === 'online').flatMap((p) => p.groups));
      await Promise.all([...groups].map((g) => ctx.pump(g)));
    },
    async setAway(agentId) {
      const profile = await directory.get(agentId);
      if (profile !== undefined) await write(profile, 'away');
    },
  };
}
