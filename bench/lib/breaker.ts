// The orders backend's faults and the gateway's breaker on order.get, as the benches drive them.
import type { Stack } from './stack.ts';

const OPEN_TIMEOUT_MS = 10_000;

export interface BreakerState {
  state: string;
  stats: Record<string, number>;
}

/** The orders backend answers normally (`ok`) or refuses every connection (`down`). */
export async function setOrdersFault(s: Stack, mode: 'ok' | 'down'): Promise<void> {
  const reply = await fetch(`${s.ordersUrl}/_admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode }) });
  if (!reply.ok) throw new Error(`POST /_admin/faults ${mode} answered ${reply.status}`);
}

/** How many requests the orders backend has had. */
export async function ordersBackendRequests(s: Stack): Promise<number> {
  return ((await (await fetch(`${s.ordersUrl}/_admin/stats`)).json()) as { requests: number }).requests;
}

/** The gateway's breaker on orders-java order.get, as /v1/connectors shows it. */
export async function orderBreakerView(s: Stack): Promise<BreakerState | undefined> {
  const reply = await fetch(`${s.gatewayUrl}/v1/connectors`, { headers: { 'x-api-key': s.apiKey } });
  const body = (await reply.json()) as { connectors: { name: string; breakers?: (BreakerState & { capability: string })[] }[] };
  const breaker = body.connectors.find((c) => c.name === 'orders-java')?.breakers?.find((b) => b.capability === 'order.get');
  return breaker && { state: breaker.state, stats: breaker.stats };
}

/**
 * With the backend down, fires failing calls (`ids`, 32 at a time) until /v1/connectors shows
 * order.get open: the cluster's failures are shared within a second or so, not at once.
 */
export async function openOrderBreaker(s: Stack, ids: readonly string[]): Promise<{ calls: number; ms: number; statuses: Record<string, number> }> {
  const started = Date.now();
  const statuses: Record<string, number> = {};
  let next = 0;
  while (Date.now() - started < OPEN_TIMEOUT_MS) {
    if ((await orderBreakerView(s))?.state === 'open') return { calls: next, ms: Date.now() - started, statuses };
    const batch = ids.slice(next % ids.length, (next % ids.length) + 32);
    next += batch.length;
    await Promise.all(
      batch.map(async (id) => {
        const reply = await fetch(`${s.gatewayUrl}/v1/orders/${id}`, { headers: { 'x-api-key': s.apiKey } });
        await reply.arrayBuffer();
        statuses[reply.status] = (statuses[reply.status] ?? 0) + 1;
      }),
    );
  }
  throw new Error(`the breaker on orders-java order.get did not open within ${OPEN_TIMEOUT_MS} ms: ${JSON.stringify(await orderBreakerView(s))}`);
}
