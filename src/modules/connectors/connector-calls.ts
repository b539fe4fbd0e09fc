import { AppError, isAppError, toAppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import { inSpan, SpanKind } from '../../kernel/telemetry.ts';
import { parentContext, traceOfSpan, type TraceContext } from '../../kernel/trace.ts';
import type { CanonicalEvent, PollResult, WebhookDelivery } from '../../sdk/types.ts';
import type { PipelineCall, ResiliencePipeline } from '../resilience/pipeline.ts';
import type { SettingsProvider } from '../resilience/settings.ts';
import type { ConnectorRegistry, ConnectorVersion } from './registry.ts';

/** Who asks, for the worker's log lines and spans. */
export interface CallContext {
  readonly trace: TraceContext;
  readonly log: Logger;
  /** Aborted when the caller goes away (reads only: a write runs to its deadline). */
  readonly signal?: AbortSignal;
  /** Attributes for the call's span and the worker's (`omnigate.conversation.id` …). */
  readonly attributes?: Readonly<Record<string, string | number>>;
}

/** A capability call on one connector. */
export interface CapabilityCall extends CallContext {
  readonly connector: string;
  readonly capability: string;
  readonly params: Record<string, unknown>;
  /**
   * Checks the result inside the attempt (throw to refuse it), so that bad data counts against
   * the breaker like any other failure of the backend.
   */
  readonly check?: (data: unknown, version: ConnectorVersion) => void;
}

/** What a capability call answered, and which version answered it. */
export interface CallAnswer {
  readonly data: unknown;
  readonly version: ConnectorVersion;
}

/**
 * The one way to call a connector. Every kind of call takes a lease on the active version (a
 * reload drains it) and passes the connector's bulkhead, breaker, deadline, rate limit and
 * metrics; nothing outside this module talks to a connector's worker.
 */
export interface ConnectorCalls {
  /** A read; retried under the budget. */
  query(call: CapabilityCall): Promise<CallAnswer>;
  /** A write; never retried, and it runs to its deadline even if the caller leaves. */
  execute(call: CapabilityCall): Promise<CallAnswer>;
  /** A backend's webhook delivery, verified and normalized by the connector; within its inbound rate limit. */
  webhook(connector: string, delivery: WebhookDelivery, context: CallContext): Promise<readonly CanonicalEvent[]>;
  /** The changes after `cursor`. */
  poll(connector: string, cursor: string | undefined, context: CallContext): Promise<PollResult>;
  /**
   * A raw request for the proxy: `path` is resolved against the connector's `baseUrl`, the
   * connector's credentials are added to `headers`, and `send` makes the exchange with them. Never
   * retried; breaker and metrics label `proxy`.
   */
  proxy<T>(connector: string, request: RawRequest, context: CallContext, send: (url: URL, headers: Record<string, string>, signal: AbortSignal) => Promise<T>): Promise<T>;
}

/** A request the proxy passes through; `body` is the exact text the credentials are computed over. */
export interface RawRequest {
  readonly method: string;
  /** Relative to the connector's baseUrl, query string included. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
  /**
   * Checks the request against the version the attempt runs on (throw to refuse it): the version
   * active when the request arrived may have been swapped out while it waited for a slot.
   */
  readonly check?: (version: ConnectorVersion) => void;
}

export interface ConnectorCallsDeps {
  readonly registry: ConnectorRegistry;
  readonly pipeline: ResiliencePipeline;
  readonly settings: SettingsProvider;
}

/** The facade over one registry and pipeline. */
export function createConnectorCalls(deps: ConnectorCallsDeps): ConnectorCalls {
  /**
   * One call through the pipeline, in a CLIENT span (`<kind> <connector> <capability>`) that
   * covers its retries; `attempt` runs once per try, holding a lease, and gets that span's trace
   * context to hand to the worker.
   */
  function run<T>(connector: string, capability: string, kind: PipelineCall<T>['kind'], context: CallContext, attempt: (version: ConnectorVersion, signal: AbortSignal, trace: TraceContext) => Promise<T>, extra: Partial<PipelineCall<T>> = {}): Promise<T> {
    const attributes = { 'omnigate.connector': connector, 'omnigate.capability': capability, ...context.attributes };
    return inSpan(`${kind} ${connector} ${capability}`, { kind: SpanKind.CLIENT, attributes }, (span) => {
      const trace = traceOfSpan(span, context.trace.requestId) ?? context.trace;
      return runPipeline(connector, capability, kind, context, (version, signal) => attempt(version, signal, trace), extra);
    }, parentContext(context.trace));
  }

  function runPipeline<T>(connector: string, capability: string, kind: PipelineCall<T>['kind'], context: CallContext, attempt: (version: ConnectorVersion, signal: AbortSignal) => Promise<T>, extra: Partial<PipelineCall<T>>): Promise<T> {
    const settings = deps.settings.forConnector(connector);
    return deps.pipeline
      .execute<T>({
        connector,
        capability,
        kind,
        settings,
        log: context.log,
        ...(context.signal ? { signal: context.signal } : {}),
        ...extra,
        async run(signal) {
          const lease = deps.registry.lease(connector);
          try {
            return await attempt(lease.version, signal);
          } finally {
            lease.release();
          }
        },
      })
      .catch((err: unknown) => {
        throw attribute(err, connector);
      });
  }

  function capabilityCall(kind: 'query' | 'command', call: CapabilityCall): Promise<CallAnswer> {
    const { connector, capability } = call;
    // A write is not abandoned half-way when its caller leaves: its outcome would be unknown.
    const context = kind === 'command' ? { trace: call.trace, log: call.log, ...(call.attributes ? { attributes: call.attributes } : {}) } : call;
    return run(connector, capability, kind, context, async (version, signal, trace) => {
      const data = await version.host
        .call({ kind, capability, params: call.params, trace, logBindings: call.log.bindings(), ...(call.attributes ? { attributes: { ...call.attributes } } : {}) }, signal)
        .catch((err: unknown) => {
          throw attribute(err, connector);
        });
      call.check?.(data, version);
      return { data, version };
    });
  }

  return {
    query: (call) => capabilityCall('query', call),
    execute: (call) => capabilityCall('command', call),

    webhook(connector, delivery, context) {
      const { inboundRateLimitPerSec } = deps.settings.forConnector(connector);
      return run(connector, 'webhook', 'webhook', context, async (version, signal, trace) => {
        try {
          return (await version.host.call({ kind: 'webhook', capability: 'webhook', params: { delivery }, trace, logBindings: context.log.bindings() }, signal)) as CanonicalEvent[];
        } catch (err) {
          // A delivery the connector refuses (bad signature, replay) is the sender's problem, and
          // says nothing about the backend's health: it must not open the breaker.
          if (isAppError(err) && err.code === 'UPSTREAM_UNAUTHORIZED') throw new AppError('UNAUTHENTICATED', err.message, { connector });
          throw err;
        }
      }, { rateLimit: { key: `inbound:${connector}`, perSec: inboundRateLimitPerSec } });
    },

    poll(connector, cursor, context) {
      return run(connector, 'poll', 'poll', context, async (version, signal, trace) =>
        (await version.host.call({ kind: 'poll', capability: 'poll', params: { cursor }, trace, logBindings: context.log.bindings() }, signal)) as PollResult,
      );
    },

    proxy(connector, request, context, send) {
      // Authorizing inside the attempt: an open breaker keeps even a token fetch from the backend.
      return run(connector, 'proxy', 'command', context, async (version, signal) => {
        request.check?.(version);
        const baseUrl = String(version.config.baseUrl);
        const url = new URL(request.path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
        const headers = await version.host.authorize({ method: request.method, url: url.href, headers: request.headers, body: request.body });
        return send(url, headers, signal);
      });
    },
  };
}

/** Names the connector on the error, wrapping what the SDK did not type. */
export function attribute(err: unknown, connector: string): AppError {
  if (isAppError(err)) {
    if (err.extensions.connector === undefined) (err.extensions as Record<string, unknown>).connector = connector;
    return err;
  }
  const wrapped = toAppError(err);
  return new AppError('INTERNAL', `connector ${connector} failed unexpectedly`, { connector }, { cause: wrapped.cause ?? err });
}
