import { Redis } from 'ioredis';
import { createRedisDispatchStore } from '../../src/adapters/redis/redis-dispatch-store.ts';

/** What the sampler saw of the dispatch store while it ran. */
export interface LoadSamples {
  /** Reads of every agent's load taken. */
  readonly samples: number;
  /** Each agent's highest load seen. */
  readonly peaks: ReadonlyMap<string, number>;
  /** Every moment an agent held more than its maximum, in words. */
  readonly overloads: readonly string[];
}

/**
 * Reads every agent's load from the shared dispatch store (the Redis the nodes use), one read
 * after the other until stopped: each agent's load (offers and assignments it holds) against its
 * maximum at every step, as the store itself counts it.
 */
export function sampleAgentLoads(redisUrl: string): { stop(): Promise<LoadSamples> } {
  const client = new Redis(redisUrl);
  const store = createRedisDispatchStore({ client });
  const peaks = new Map<string, number>();
  const overloads: string[] = [];
  let samples = 0;
  let stopped = false;
  const running = (async () => {
    while (!stopped) {
      for (const agent of await store.agents()) {
        peaks.set(agent.agentId, Math.max(peaks.get(agent.agentId) ?? 0, agent.load));
        if (agent.load > agent.maxConcurrent) overloads.push(`${agent.agentId} held ${agent.load}, its maximum is ${agent.maxConcurrent} (sample ${samples})`);
      }
      samples += 1;
    }
  })();
  return {
    async stop() {
      stopped = true;
      await running;
      client.disconnect();
      return { samples, peaks, overloads };
    },
  };
}
