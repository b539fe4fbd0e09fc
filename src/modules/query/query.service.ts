import { hash } from 'node:crypto';
import { allowsStaleAnswer, AppError, toAppError, type ErrorCode } from '../../kernel/errors.ts';
import { lazyChild, type Logger } from '../../kernel/logger.ts';
import { toIssues, type SchemaRegistry } from '../../kernel/schemas.ts';
import { annotateActive, conversationAttributes } from '../../kernel/telemetry.ts';
import type { TraceContext } from '../../kernel/trace.ts';
import type { ConversationAttribution } from '../lineage/lineage.types.ts';
import type { StaleCache } from '../../ports/cache.ts';
import type { ConnectorCalls } from '../connectors/connector-calls.ts';
import type { ConnectorRegistry } from '../connectors/registry.ts';
import { notServing } from '../connectors/slots.ts';
import type { Metrics } from '../observability/metrics.ts';

/** Which connector answered a call, and how long it took. */
export interface Source {
  readonly connector: string;
  readonly version: string;
  readonly system: string;
  readonly latencyMs: number;
}

/** Why an answer comes from the stale cache, and how old it is. */
export interface Staleness {
  readonly ageMs: number;
  readonly storedAt: string;
  readonly reason: { readonly code: ErrorCode; readonly detail: string };
}

export interface QueryResult {
  readonly capability: string;
  readonly data: unknown;
  readonly source: Source;
  /** Present (and true) only when the live call failed and this is the last good answer. */
  readonly stale?: true;
  readonly staleness?: Staleness;
}

export interface CallOptions {
  readonly trace: TraceContext;
  readonly log: Logger;
  /** Aborted when the client goes away. */
  readonly signal?: AbortSignal;
  /** The conversation the call is made for (X-Conversation-Id, the sidebar, the bot): lineage records it, spans carry its id. */
  readonly conversation?: ConversationAttribution;
}

/** Calls capabilities on whichever connector serves them and returns checked canonical data. */
export interface QueryService {
  call(capability: string, params: Record<string, unknown>, options: CallOptions): Promise<QueryResult>;
}

export interface QueryServiceDeps {
  readonly registry: ConnectorRegistry;
  readonly schemas: SchemaRegistry;
  /** The one way to call a connector (lease, bulkhead, breaker, deadline, retries, rate limit). */
  readonly calls: ConnectorCalls;
  readonly cache: StaleCache;
  readonly metrics: Metrics;
  readonly staleTtlMs: number;
}

export function createQueryService(deps: QueryServiceDeps): QueryService {
  /**
   * Keyed by connector version: a stale answer is one the version serving now stored (its
   * `source.version`), never an older mapping's passed off as the new one's. An upgrade starts
   * with no stale answers; a rollback finds its version's again (within their TTL).
   */
  const cacheKey = (capability: string, version: { name: string; version: string }, params: unknown): string =>
    `${capability}:${version.name}@${version.version}:${hash('sha256', JSON.stringify(params), 'base64url')}`;

  return {
    async call(capability, params, options) {
      const { entry, by } = deps.registry.resolve(capability, params);
      const { name } = entry;
      if (!entry.active) {
        throw notServing(name, entry.problem, 'unknown problem');
      }
      const { active } = entry;
      const declaration = active.capabilities.get(capability);
      const validateParams = active.params.get(capability);
      if (!declaration || !validateParams) throw new AppError('UNKNOWN_CAPABILITY', `no connector declares the capability ${capability}`, { capability });

      const input = structuredClone(params);
      // The routing param is the gateway's: the connector gets it only if its params declare it.
      if (by !== undefined && !declaresParam(declaration.params, by)) delete input[by];
      if (!validateParams(input)) {
        const issues = toIssues(validateParams.errors);
        throw new AppError('VALIDATION_FAILED', `params of ${capability}: ${issues.map((i) => i.message).join('; ')}`, {
          errors: issues.map((i) => ({ in: 'body', pointer: `/params${i.pointer}`, message: i.message })),
        });
      }

      const log = lazyChild(options.log, { connector: name, capability });
      const validate = deps.schemas.validatorFor(declaration.result);
      const started = performance.now();
      let servedBy = active;
      const source = (): Source => ({ connector: name, version: servedBy.version, system: servedBy.manifest.system, latencyMs: Math.round(performance.now() - started) });

      // Checked inside the attempt, so that bad data counts against the breaker like any other
      // failure of the backend.
      const check = (data: unknown, version: typeof active): void => {
        servedBy = version;
        if (validate(data)) return;
        const issues = toIssues(validate.errors);
        const field = issues[0]?.field ?? '(value)';
        log.warn({ field, issues: issues.slice(0, 5).map((i) => i.message) }, 'connector result breaks the canonical schema');
        throw new AppError('CONNECTOR_BAD_DATA', `connector ${name} answered ${capability} with data that breaks the ${declaration.result} schema: ${issues[0]?.message ?? 'invalid'}`, {
          connector: name,
          field,
        });
      };

      const keyOf = (version: typeof active): string => cacheKey(capability, version, input);
      // The conversation the call works for, on the caller's span and on the connector's and worker's.
      const attributes = conversationAttributes(options.conversation) as Record<string, string | number>;
      annotateActive(attributes);
      const call = { connector: name, capability, params: input, trace: options.trace, log, check, attributes, ...(options.signal ? { signal: options.signal } : {}) };
      try {
        const { data } = declaration.kind === 'query' ? await deps.calls.query(call) : await deps.calls.execute(call);
        if (declaration.kind === 'query') void deps.cache.set(keyOf(servedBy), data, deps.staleTtlMs);
        return { capability, data, source: source() };
      } catch (err) {
        const error = toAppError(err);
        // Writes never fall back: a stale answer to a command would be a lie.
        if (declaration.kind !== 'query' || !allowsStaleAnswer(error) || options.signal?.aborted) throw error;
        // The version that serves now (a swap during the call may have moved past `active`).
        const current = deps.registry.get(name)?.active ?? servedBy;
        servedBy = current;
        const cached = await deps.cache.get<unknown>(keyOf(current));
        deps.metrics.cacheHits.inc({ connector: name, capability, result: cached ? 'hit' : 'miss' });
        if (!cached) throw error;
        deps.metrics.staleServes.inc({ connector: name, capability });
        log.warn({ code: error.code, ageMs: Date.now() - cached.storedAt }, 'serving a stale answer');
        return {
          capability,
          data: cached.value,
          source: source(),
          stale: true,
          staleness: { ageMs: Date.now() - cached.storedAt, storedAt: new Date(cached.storedAt).toISOString(), reason: { code: error.code, detail: error.message } },
        };
      }
    },
  };
}

/** Whether a capability's params schema names a property. */
function declaresParam(schema: unknown, param: string): boolean {
  const properties = (schema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return properties !== undefined && Object.hasOwn(properties, param);
}
