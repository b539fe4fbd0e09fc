import express, { Router, type Request, type Response } from 'express';
import { AppError, isAppError } from '../../kernel/errors.ts';
import { cloudEvent } from '../../kernel/events.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { SchemaRegistry } from '../../kernel/schemas.ts';
import { startTrace } from '../../kernel/trace.ts';
import type { DedupeStore } from '../../ports/dedupe-store.ts';
import type { CloudEvent } from '../../ports/event-bus.ts';
import type { CursorStore, LeaseStore } from '../../ports/lease-store.ts';
import type { CanonicalEvent } from '../../sdk/types.ts';
import type { ConnectorCalls } from '../connectors/connector-calls.ts';
import type { ConnectorRegistry } from '../connectors/registry.ts';
import { contextOf } from '../http/request-context.ts';
import type { Events } from './events.service.ts';

export const INBOUND_SEEN_TTL_S = 24 * 60 * 60;
export const POLL_TIMEOUT_MS = 10_000;
/** Canonical payload schema per event type, where there is one. */
const DATA_SCHEMAS: Readonly<Record<string, string>> = { 'ticket.created': 'Ticket', 'ticket.updated': 'Ticket' };

export interface ConnectorEventsDeps {
  readonly registry: ConnectorRegistry;
  /** The one way to call a connector: the lease, its bulkhead, breaker, deadline and rate limits. */
  readonly calls: ConnectorCalls;
  readonly events: Events;
  /** Marks of the deliveries taken in already (Redis in the gateway, shared by every node). */
  readonly dedupe: DedupeStore;
  readonly schemas: SchemaRegistry;
  readonly log: Logger;
}

/** A connector's canonical events as CloudEvents, checked against what its manifest declares. */
function toCloudEvents(connector: string, declared: readonly string[], found: readonly CanonicalEvent[], schemas: SchemaRegistry, traceparent?: string): CloudEvent[] {
  return found.map((event) => {
    if (!declared.includes(event.type)) throw new AppError('CONNECTOR_BAD_DATA', `connector ${connector} produced an undeclared event type ${event.type}`, { connector, field: 'type' });
    const schema = DATA_SCHEMAS[event.type];
    if (schema && !schemas.validatorFor(schema)(event.data)) {
      throw new AppError('CONNECTOR_BAD_DATA', `connector ${connector} produced a ${event.type} whose data breaks the ${schema} schema`, { connector, field: 'data' });
    }
    return cloudEvent({
      // Stable across redeliveries: consumers drop the ids they have seen.
      id: `${connector}:${event.id}`,
      source: `/omnigate/connectors/${connector}`,
      type: event.type,
      subject: event.subject,
      partitionkey: event.subject,
      time: event.time,
      data: event.data,
      ...(traceparent ? { traceparent } : {}),
    });
  });
}

/**
 * Publishes the events this gateway has not taken in before (a retried or duplicated delivery
 * is dropped), marking them only once they are in the outbox: a crash in between means a
 * duplicate later (consumers drop it by id), never a loss. Returns how many were new.
 */
async function publishUnseen(deps: Pick<ConnectorEventsDeps, 'dedupe' | 'events'>, events: readonly CloudEvent[]): Promise<number> {
  const { dedupe } = deps;
  const mark = (event: CloudEvent) => `omnigate:inbound:${event.id}`;
  const fresh = dedupe.isUp()
    ? (await Promise.all(events.map(async (event) => ((await dedupe.has(mark(event)).catch(() => false)) ? undefined : event)))).filter((e): e is CloudEvent => e !== undefined)
    : [...events];
  // Acknowledged only once stored in Redis: a sender told "accepted" does not send again.
  await deps.events.publishDurably(fresh);
  if (dedupe.isUp()) await Promise.all(fresh.map((event) => dedupe.mark(mark(event), INBOUND_SEEN_TTL_S * 1_000).catch(() => undefined)));
  return fresh.length;
}

/**
 * POST /v1/inbound/{connector}: a backend's signed webhooks. The connector (in its worker, with
 * its secret) verifies and normalizes them; the events are in the outbox's Redis streams before
 * the backend gets its 202 (503 STORE_UNAVAILABLE while Redis is away, so that it retries), so an
 * acknowledged delivery is never lost; duplicates are dropped.
 */
export function createInboundRouter(deps: ConnectorEventsDeps & { bodyLimitBytes: number }): Router {
  const router = Router();
  router.post('/inbound/:connector', express.text({ type: () => true, limit: deps.bodyLimitBytes }), async (req: Request, res: Response) => {
    const name = String(req.params.connector);
    const entry = deps.registry.get(name);
    if (!entry?.active?.manifest.events || !entry.active.manifest.events.types.length) throw new AppError('NOT_FOUND', `connector ${name} takes no webhooks`);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v ?? '')]));
    const delivery = { headers, body: typeof req.body === 'string' ? req.body : '' };
    const ctx = contextOf(res);
    // A delivery the connector refuses (bad signature, replay) answers 401: the sender's problem.
    const found = await deps.calls.webhook(name, delivery, { trace: ctx.trace, log: ctx.log }).catch((err: unknown) => {
      throw forSender(err, name, ctx.log);
    });
    const published = await publishUnseen(deps, toCloudEvents(name, entry.active.manifest.events.types, found, deps.schemas, req.get('traceparent')));
    res.status(202).json({ accepted: found.length, duplicates: found.length - published });
  });
  return router;
}

/**
 * What an inbound sender (no key: anyone) is told of a refusal: the code, never the connector's
 * own words, which may say more than a stranger should read. Those go to the log.
 */
function forSender(err: unknown, connector: string, log: Logger): unknown {
  if (!isAppError(err)) return err;
  log.info({ connector, code: err.code, detail: err.message }, 'inbound delivery refused');
  const { retryAfterMs } = err.extensions;
  return new AppError(err.code, `connector ${connector} refused the delivery (${err.code})`, { connector, ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}) }, { cause: err });
}

/**
 * Polls every connector that has `poll()`, each on one node at a time (a lease), from a cursor
 * kept in the shared store; events go to the outbox before the cursor moves (at least once).
 */
export function startPollers(deps: ConnectorEventsDeps & { nodeId: string; leases: LeaseStore; cursors: CursorStore }): { close(): Promise<void> } {
  const log = deps.log.child({ module: 'pollers' });
  let closed = false;
  const running = new Map<string, Promise<void>>();

  async function pollOnce(name: string, intervalMs: number): Promise<void> {
    const entry = deps.registry.get(name);
    const manifest = entry?.active?.manifest;
    if (!manifest?.events?.pollIntervalMs) return;
    // One node polls: take the lease if free, or extend it if ours (atomically).
    const lockKey = `omnigate:poll-lock:${name}`;
    const leaseMs = Math.max(intervalMs * 5, POLL_TIMEOUT_MS * 2);
    if (!(await deps.leases.acquire(lockKey, deps.nodeId, leaseMs))) return;
    const cursorKey = `omnigate:cursor:${name}`;
    const cursor = await deps.cursors.get(cursorKey);
    // Bounded here too (besides the connector's deadline), so that a poll never outlives the lease.
    const result = await deps.calls.poll(name, cursor, { trace: startTrace(undefined, `poll-${name}`), log: log.child({ poller: name }), signal: AbortSignal.timeout(POLL_TIMEOUT_MS) });
    const published = await publishUnseen(deps, toCloudEvents(name, manifest.events.types, result.events, deps.schemas));
    await deps.cursors.set(cursorKey, result.cursor);
    if (published > 0) log.debug({ connector: name, events: published, cursor: result.cursor }, 'polled');
  }

  const loop = async (name: string, intervalMs: number) => {
    let failures = 0;
    while (!closed && deps.registry.get(name)?.active?.manifest.events?.pollIntervalMs) {
      try {
        if (deps.leases.isUp()) await pollOnce(name, intervalMs);
        failures = 0;
      } catch (err) {
        failures += 1;
        if (failures === 1 || failures % 30 === 0) log.warn({ connector: name, err, failures }, 'poll failed; trying again');
      }
      await new Promise((r) => setTimeout(r, intervalMs).unref());
    }
    // Gone (removed, or no longer polling): a later version starts a new loop.
    running.delete(name);
  };

  // Connectors come and go at run time: look for new pollers now and then.
  const scan = () => {
    for (const entry of deps.registry.list()) {
      const interval = entry.active?.manifest.events?.pollIntervalMs;
      if (interval && !running.has(entry.name) && typeof entry.active?.manifest === 'object') running.set(entry.name, loop(entry.name, interval));
    }
  };
  scan();
  const scanner = setInterval(scan, 2_000);
  scanner.unref();
  return {
    async close() {
      closed = true;
      clearInterval(scanner);
      const names = [...running.keys()];
      await Promise.allSettled(running.values());
      // Hand the polling over at once rather than when the lease runs out.
      for (const name of names) await deps.leases.release(`omnigate:poll-lock:${name}`, deps.nodeId).catch(() => undefined);
    },
  };
}
