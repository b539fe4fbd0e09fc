import { createHash } from 'node:crypto';
import { allowsStaleAnswer, AppError, isAppError, toAppError, type ErrorCode } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import { toIssues, type SchemaRegistry } from '../../kernel/schemas.ts';
import type { TraceContext } from '../../kernel/trace.ts';
import type { StaleCache } from '../../ports/cache.ts';
import type { ConnectorRegistry } from '../connectors/registry.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ResiliencePipeline } from '../resilience/pipeline.ts';
import type { SettingsProvider } from '../resilience/settings.ts';

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
}

/** Calls capabilities on whichever connector serves them and returns checked canonical data. */
export interface QueryService {
  call(capability: string, params: Record<string, unknown>, options: CallOptions): Promise<QueryResult>;
}

export interface QueryServiceDeps {
  readonly registry: ConnectorRegistry;
  readonly schemas: SchemaRegistry;
  readonly pipeline: ResiliencePipeline;
  readonly settings: SettingsProvider;
  readonly cache: StaleCache;
  readonly metrics: Metrics;
  readonly staleTtlMs: number;
}

export function createQueryService(deps: QueryServiceDeps): QueryService {
  const cacheKey = (capability: string, params: unknown): string =>
    `${capability}:${createHash('sha256').update(JSON.stringify(params)).digest('base64url')}`;

  return {
    async call(capability, params, options) {
      const entry = deps.registry.route(capability);
      if (!entry) throw new AppError('UNKNOWN_CAPABILITY', `no connector declares the capability ${capability}`, { capability });
      const { name } = entry;
      if (!entry.active) {
        throw new AppError('CONNECTOR_UNAVAILABLE', `connector ${name} is not loaded: ${entry.problem?.message ?? 'unknown problem'}`, { connector: name });
      }
      const { active } = entry;
      const declaration = active.capabilities.get(capability);
      const validateParams = active.params.get(capability);
      if (!declaration || !validateParams) throw new AppError('UNKNOWN_CAPABILITY', `no connector declares the capability ${capability}`, { capability });

      const input = structuredClone(params);
      if (!validateParams(input)) {
        const issues = toIssues(validateParams.errors);
        throw new AppError('VALIDATION_FAILED', `params of ${capability}: ${issues.map((i) => i.message).join('; ')}`, {
          errors: issues.map((i) => ({ in: 'body', pointer: `/params${i.pointer}`, message: i.message })),
        });
      }

      const log = options.log.child({ connector: name, capability });
      const validate = deps.schemas.validatorFor(declaration.result);
      const started = performance.now();
      let servedBy = active;
      const source = (): Source => ({ connector: name, version: servedBy.version, system: servedBy.manifest.system, latencyMs: Math.round(performance.now() - started) });

      // One attempt: a lease on whichever version is active now (a reload drains it), the
      // connector's call in its worker, and the check of its result, so that bad data counts
      // against the breaker like any other failure of the backend.
      const attempt = async (signal: AbortSignal): Promise<unknown> => {
        const lease = deps.registry.lease(name);
        servedBy = lease.version;
        try {
          let data: unknown;
          try {
            data = await lease.version.host.call({ kind: declaration.kind, capability, params: input, trace: options.trace, logBindings: log.bindings() }, signal);
          } catch (err) {
            throw attribute(err, name);
          }
          if (!validate(data)) {
            const issues = toIssues(validate.errors);
            const field = issues[0]?.field ?? '(value)';
            log.warn({ field, issues: issues.slice(0, 5).map((i) => i.message) }, 'connector result breaks the canonical schema');
            throw new AppError('CONNECTOR_BAD_DATA', `connector ${name} answered ${capability} with data that breaks the ${declaration.result} schema: ${issues[0]?.message ?? 'invalid'}`, {
              connector: name,
              field,
            });
          }
          return data;
        } finally {
          lease.release();
        }
      };

      const key = cacheKey(capability, input);
      try {
        const data = await deps.pipeline.execute({
          connector: name,
          capability,
          kind: declaration.kind,
          settings: deps.settings.forConnector(name),
          log,
          run: attempt,
          // A write runs to its deadline even if the caller leaves: abandoning it half-way would
          // leave its outcome unknown (a retry could then do it twice).
          ...(options.signal && declaration.kind === 'query' ? { signal: options.signal } : {}),
        });
        if (declaration.kind === 'query') void deps.cache.set(key, data, deps.staleTtlMs);
        return { capability, data, source: source() };
      } catch (err) {
        const error = attribute(err, name);
        // Writes never fall back: a stale answer to a command would be a lie.
        if (declaration.kind !== 'query' || !allowsStaleAnswer(error) || options.signal?.aborted) throw error;
        const cached = await deps.cache.get<unknown>(key);
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

/** Names the connector on the error, wrapping what the SDK did not type. */
function attribute(err: unknown, connector: string): AppError {
  if (isAppError(err)) {
    if (err.extensions.connector === undefined) (err.extensions as Record<string, unknown>).connector = connector;
    return err;
  }
  const wrapped = toAppError(err);
  return new AppError('INTERNAL', `connector ${connector} failed unexpectedly`, { connector }, { cause: wrapped.cause ?? err });
}
