// What the gateway-level dispatch bench reads from the nodes: the queues (`GET /v1/queues`) and
// the conversations' streams (`GET /v1/conversations/{id}/events`), with the service key.
import { BENCH_API_KEY, type ServerProcess } from './chat-stack.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 100 ms until it holds; throws after `timeoutMs`. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** A group's online agents or queued conversations, from `GET /v1/queues` (a service key may read it). */
export async function groupCount(node: ServerProcess, group: string, what: 'online' | 'queued' | 'openOffers'): Promise<number> {
  const res = await fetch(`${node.httpUrl}/v1/queues`, { headers: { 'x-api-key': BENCH_API_KEY } }).catch(() => undefined);
  if (!res?.ok) return 0;
  const find = (v: unknown): number => {
    if (Array.isArray(v)) return Math.max(0, ...v.map(find));
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.group === group && o.agents && typeof o.agents === 'object') return Number((what === 'online' ? (o.agents as { online?: number }).online : o[what]) ?? 0);
      return Math.max(0, ...Object.values(o).map(find));
    }
    return 0;
  };
  return find(await res.json());
}

/** Every conversation's stream over REST with the service key, 32 at a time, both nodes in turn. */
export async function readStreams(nodes: readonly ServerProcess[], ids: readonly string[]): Promise<Map<string, { type: string; at: string }[]>> {
  const out = new Map<string, { type: string; at: string }[]>();
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async (_, w) => {
    for (let i = next++; i < ids.length; i = next++) {
      const res = await fetch(`${nodes[w % nodes.length]!.httpUrl}/v1/conversations/${ids[i]}/events?limit=100`, { headers: { 'x-api-key': BENCH_API_KEY } });
      const page = (await res.json()) as { events?: { type: string; at: string }[] };
      out.set(ids[i]!, page.events ?? []);
    }
  }));
  return out;
}
