import { AppError, isAppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import { toIssues, type SchemaRegistry } from '../../kernel/schemas.ts';
import type { TraceContext } from '../../kernel/trace.ts';
import { createHttpClient, DeadlineExceeded } from '../../sdk/http-client.ts';
import type { ConnectorRegistry } from '../connectors/registry.ts';

/** Which connector answered a call, and how long it took. */
export interface Source {
  readonly connector: string;
  readonly version: string;
  readonly system: string;
  readonly latencyMs: number;
}

export interface QueryResult {
  readonly capability: string;
  readonly data: unknown;
  readonly source: Source;
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
  readonly callTimeoutMs: number;
}

export function createQueryService(deps: QueryServiceDeps): QueryService {
  return {
    async call(capability, params, options) {
      const entry = deps.registry.route(capability);
      if (!entry) throw new AppError('UNKNOWN_CAPABILITY', `no connector declares the capability ${capability}`, { capability });
      const { runtime, name } = entry;
      if (entry.state === 'failed' || !runtime?.authenticator) {
        throw new AppError('CONNECTOR_UNAVAILABLE', `connector ${name} is not loaded: ${entry.problem?.message ?? 'unknown problem'}`, { connector: name });
      }
      const manifest = runtime.connector.manifest;
      const declaration = runtime.capabilities.get(capability);
      const validateParams = runtime.params.get(capability);
      if (!declaration || !validateParams) throw new AppError('UNKNOWN_CAPABILITY', `no connector declares the capability ${capability}`, { capability });

      const input = structuredClone(params);
      if (!validateParams(input)) {
        const issues = toIssues(validateParams.errors);
        throw new AppError('VALIDATION_FAILED', `params of ${capability}: ${issues.map((i) => i.message).join('; ')}`, {
          errors: issues.map((i) => ({ in: 'body', pointer: `/params${i.pointer}`, message: i.message })),
        });
      }

      const log = options.log.child({ connector: name, capability });
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(new DeadlineExceeded(deps.callTimeoutMs)), deps.callTimeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal;
      const ctx = {
        config: runtime.config,
        log,
        signal,
        trace: options.trace,
        http: createHttpClient({ baseUrl: runtime.baseUrl, log, signal, trace: options.trace, authenticator: runtime.authenticator }),
      };
      const started = performance.now();
      let data: unknown;
      try {
        data = declaration.kind === 'query'
          ? await runtime.connector.query(capability, input, ctx)
          : await runtime.connector.execute(capability, input, ctx);
      } catch (err) {
        throw attribute(err, name);
      } finally {
        clearTimeout(timer);
      }
      const latencyMs = Math.round(performance.now() - started);

      const validate = deps.schemas.validatorFor(declaration.result);
      if (!validate(data)) {
        const issues = toIssues(validate.errors);
        const field = issues[0]?.field ?? '(value)';
        log.warn({ field, issues: issues.slice(0, 5) }, 'connector result breaks the canonical schema');
        throw new AppError('CONNECTOR_BAD_DATA', `connector ${name} answered ${capability} with data that breaks the ${declaration.result} schema: ${issues[0]?.message ?? 'invalid'}`, {
          connector: name,
          field,
        });
      }
      return { capability, data, source: { connector: name, version: manifest.version, system: manifest.system, latencyMs } };
    },
  };
}

/** Names the connector on the error, wrapping what the SDK did not type. */
function attribute(err: unknown, connector: string): AppError {
  if (isAppError(err)) {
    if (err.extensions.connector === undefined) (err.extensions as Record<string, unknown>).connector = connector;
    return err;
  }
  return new AppError('INTERNAL', `connector ${connector} failed unexpectedly`, { connector }, { cause: err });
}
