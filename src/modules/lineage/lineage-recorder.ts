import { randomUUID } from 'node:crypto';
import { toAppError } from '../../kernel/errors.ts';
import { cloudEvent, CONVERSATIONS_TOPIC } from '../../kernel/events.ts';
import type { Logger } from '../../kernel/logger.ts';
import { ownTraceparent, type TraceContext } from '../../kernel/trace.ts';
import type { CloudEvent } from '../../ports/event-bus.ts';
import type { LineageStore } from '../../ports/lineage-store.ts';
import type { CapabilityDeclaration } from '../../sdk/types.ts';
import type { ConnectorRegistry } from '../connectors/registry.ts';
import type { CallOptions, QueryResult, QueryService } from '../query/query.service.ts';
import type { BusinessKey, ConversationAttribution, LineageEntry, Shown, UnderstandingEntry } from './lineage.types.ts';

/** The CloudEvent types of lineage, on `omnigate.conversations`, keyed (and subject) by the conversation id. */
export const LINEAGE_RECORDED = 'lineage.recorded';
export const LINEAGE_UNDERSTOOD = 'lineage.understood';

export type LineageEventType = typeof LINEAGE_RECORDED | typeof LINEAGE_UNDERSTOOD;

/** The CloudEvent of a lineage entry: its id, the conversation as subject and key, the entry as data, the call's trace. */
export function lineageEvent(source: string, type: LineageEventType, entry: LineageEntry | UnderstandingEntry, trace?: TraceContext): CloudEvent {
  return cloudEvent({ id: entry.id, source, type, subject: entry.conversationId, partitionkey: entry.conversationId, time: entry.at, data: entry, ...(trace ? { traceparent: ownTraceparent(trace) } : {}) });
}

/** The business keys of one call: found in its result by the declaration's `businessKeys`, plus the ones its params name. */
export type BusinessKeysOf = (system: string, declaration: CapabilityDeclaration, result: unknown, params?: Record<string, unknown>) => BusinessKey[];

export interface LineageRecorderDeps {
  /** The query service it wraps: every call goes through it unchanged. */
  readonly query: QueryService;
  readonly store: LineageStore;
  /** The events' outbox (`Events.publish`: never rejects, never waits for Kafka). */
  readonly events: { publish(events: readonly CloudEvent[], topic?: string): Promise<void> };
  /** Which connector serves a capability, its version, system and declaration (for a call that failed, too). */
  readonly registry: Pick<ConnectorRegistry, 'route'>;
  /** The breaker's state of a connector's capability right now (`closed` | `open` | `halfOpen`), when it has one. */
  readonly breakerOf: (connector: string, capability: string) => string | undefined;
  readonly keysOf: BusinessKeysOf;
  readonly log: Logger;
  /** The CloudEvents' source: `/omnigate/nodes/<nodeId>`. */
  readonly source: string;
  readonly now?: () => number;
}

/** The query service that also keeps lineage; the bot tells it what it understood. */
export interface LineageRecorder extends QueryService {
  /** Stores what the bot made of a message and publishes `lineage.understood`. Never throws: a failure is logged. */
  recordUnderstanding(entry: UnderstandingEntry): Promise<void>;
}

/** A fresh understanding id (`und_<uuid>`), for callers that build an UnderstandingEntry. */
export const understandingId = (): string => `und_${randomUUID()}`;

/**
 * Wraps the query service: a call made for a conversation (`options.conversation`) is recorded
 * once it ends, ok, stale or failed — connector and version, the backend outcome (status, code,
 * latency, breaker, stale age), the business keys read or written, what was shown, the trace id —
 * in the lineage store, and published as `lineage.recorded`. The caller gets the call's own
 * answer or error: a lineage write that fails is logged, never thrown. Calls without a
 * conversation pass straight through.
 */
export function createLineageRecorder(deps: LineageRecorderDeps): LineageRecorder {
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ module: 'lineage' });

  function entryOf(capability: string, params: Record<string, unknown>, attribution: ConversationAttribution, trace: TraceContext, ended: Result): LineageEntry {
    const route = deps.registry.route(capability, params);
    const declaration = route?.active?.capabilities.get(capability);
    const source = ended.ok ? ended.result.source : undefined;
    const connector = source?.connector ?? route?.name;
    const version = source?.version ?? route?.active?.version;
    const system = source?.system ?? route?.active?.manifest.system;
    const result = ended.ok ? ended.result : undefined;
    const breaker = connector === undefined ? undefined : deps.breakerOf(connector, capability);
    const status = !ended.ok ? 'error' : result?.stale ? 'stale' : 'ok';
    const code = !ended.ok ? ended.code : result?.staleness?.reason.code;
    let keys: BusinessKey[] = [];
    if (declaration && system !== undefined) {
      try {
        keys = deps.keysOf(system, declaration, result?.data, params);
      } catch (err) {
        log.warn({ err, capability }, 'business keys could not be read from a call');
      }
    }
    return {
      id: `lin_${randomUUID()}`,
      at: new Date(now()).toISOString(),
      conversationId: attribution.conversationId,
      ...(attribution.messageSeq === undefined ? {} : { messageSeq: attribution.messageSeq }),
      actor: attribution.actor,
      ...(attribution.purpose === undefined ? {} : { purpose: attribution.purpose }),
      capability,
      access: declaration && declaration.kind !== 'query' ? 'write' : 'read',
      ...(connector === undefined ? {} : { connector }),
      ...(version === undefined ? {} : { version }),
      ...(system === undefined ? {} : { system }),
      outcome: {
        status,
        ...(code === undefined ? {} : { code }),
        latencyMs: source?.latencyMs ?? ended.latencyMs,
        ...(breaker === undefined ? {} : { breaker }),
        ...(result?.staleness ? { staleAgeMs: result.staleness.ageMs } : {}),
      },
      keys,
      ...shownOf(attribution.shown, result, capability),
      traceId: trace.traceId,
    };
  }

  /** The entry's `shown`: the fixed text, or the caller's function of the answer (none for a failed call, or a function that throws: logged). */
  function shownOf(shown: Shown | undefined, result: QueryResult | undefined, capability: string): { shown?: string } {
    if (typeof shown === 'string') return { shown };
    if (shown === undefined || result === undefined) return {};
    try {
      return { shown: shown(result) };
    } catch (err) {
      log.warn({ err, capability }, 'what a call showed could not be told from its answer');
      return {};
    }
  }

  const eventOf = (type: LineageEventType, entry: LineageEntry | UnderstandingEntry, trace?: TraceContext) => lineageEvent(deps.source, type, entry, trace);

  async function record(entry: LineageEntry, options: CallOptions): Promise<void> {
    try {
      await deps.store.record(entry);
    } catch (err) {
      options.log.warn({ err, conversationId: entry.conversationId, capability: entry.capability }, 'lineage of a call could not be stored');
    }
    await deps.events.publish([eventOf(LINEAGE_RECORDED, entry, options.trace)], CONVERSATIONS_TOPIC);
  }

  return {
    async call(capability, params, options) {
      const attribution = options.conversation;
      if (!attribution) return deps.query.call(capability, params, options);
      const started = performance.now();
      const latencyMs = () => Math.round(performance.now() - started);
      let ended: Result;
      try {
        const result = await deps.query.call(capability, params, options);
        ended = { ok: true, result, latencyMs: latencyMs() };
      } catch (err) {
        await record(entryOf(capability, params, attribution, options.trace, { ok: false, code: toAppError(err).code, latencyMs: latencyMs() }), options);
        throw err;
      }
      await record(entryOf(capability, params, attribution, options.trace, ended), options);
      return ended.result;
    },

    async recordUnderstanding(entry) {
      try {
        await deps.store.understood(entry);
      } catch (err) {
        log.warn({ err, conversationId: entry.conversationId, seq: entry.messageSeq }, 'lineage of an understanding could not be stored');
      }
      await deps.events.publish([eventOf(LINEAGE_UNDERSTOOD, entry)], CONVERSATIONS_TOPIC);
    },
  };
}

type Result = { readonly ok: true; readonly result: QueryResult; readonly latencyMs: number } | { readonly ok: false; readonly code: string; readonly latencyMs: number };
