import type { AgentProfile } from '../../config/identity-config.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { RecordStore } from '../../ports/record-store.ts';

export type { AgentProfile } from '../../config/identity-config.ts';

/**
 * Who the agents are for routing: skills, languages, groups and how many chats each may hold,
 * keyed by the `sub` of the agent's token. Shared by every node (Redis); seeded from config,
 * edited through the admin API; dispatch reads it.
 */
export interface AgentDirectory {
  get(agentId: string): Promise<AgentProfile | undefined>;
  /** Every agent, by id. */
  list(): Promise<AgentProfile[]>;
  /** The agents of a group, by id. */
  inGroup(group: string): Promise<AgentProfile[]>;
  /** Writes the profile (whole): true when the agent is new. */
  upsert(profile: AgentProfile): Promise<boolean>;
  /** True when the agent was there. */
  remove(agentId: string): Promise<boolean>;
  /** Writes each profile the directory does not have yet (edits made through the API survive restarts); the ids written. */
  seed(profiles: readonly AgentProfile[]): Promise<string[]>;
}

export interface AgentDirectoryDeps {
  readonly records: RecordStore;
  readonly log: Logger;
  readonly prefix?: string;
}

export function createAgentDirectory(deps: AgentDirectoryDeps): AgentDirectory {
  const prefix = deps.prefix ?? 'omnigate:agents';
  const collection = prefix;
  const all = `${prefix}:idx:all`;
  const groupIndex = (group: string): string => `${prefix}:idx:group:${group}`;
  const indexesOf = (p: AgentProfile): string[] => [all, ...p.groups.map(groupIndex)];
  const byId = (a: AgentProfile, b: AgentProfile): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const read = async (ids: readonly string[]): Promise<AgentProfile[]> => (await deps.records.getMany(collection, ids)).map((r) => JSON.parse(r) as AgentProfile).sort(byId);
  const get = async (agentId: string): Promise<AgentProfile | undefined> => {
    const raw = await deps.records.get(collection, agentId);
    return raw === undefined ? undefined : (JSON.parse(raw) as AgentProfile);
  };
  const normal = (p: AgentProfile): AgentProfile => ({
    id: p.id, ...(p.displayName === undefined ? {} : { displayName: p.displayName }), skills: [...p.skills], languages: [...p.languages], groups: [...p.groups], maxConcurrent: p.maxConcurrent,
  });

  return {
    get,
    list: async () => read(await deps.records.listed([all])),
    // The record has the last word over the index (a concurrent edit may move the agent between the two reads).
    inGroup: async (group) => (await read(await deps.records.listed([groupIndex(group)]))).filter((p) => p.groups.includes(group)),
    async upsert(profile) {
      const before = await get(profile.id);
      // Leaving a group takes the record out of that group's index; the agent is missing from
      // reads for that moment only (an admin edit, not a hot path).
      if (before !== undefined && before.groups.some((g) => !profile.groups.includes(g))) await deps.records.delete(collection, profile.id, indexesOf(before));
      await deps.records.insert(collection, profile.id, JSON.stringify(normal(profile)), indexesOf(profile));
      return before === undefined;
    },
    async remove(agentId) {
      const before = await get(agentId);
      if (before === undefined) return false;
      return deps.records.delete(collection, agentId, indexesOf(before));
    },
    async seed(profiles) {
      const written: string[] = [];
      for (const profile of profiles) {
        if ((await get(profile.id)) !== undefined) continue;
        await deps.records.insert(collection, profile.id, JSON.stringify(normal(profile)), indexesOf(profile));
        written.push(profile.id);
      }
      if (written.length > 0) deps.log.info({ agents: written }, 'agent directory seeded from config');
      return written;
    },
  };
}
