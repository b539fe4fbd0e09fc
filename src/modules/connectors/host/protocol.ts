import type { TraceSampler } from '../../../kernel/sampling.ts';
import type { TraceContext } from '../../../kernel/trace.ts';
import type { ConnectorManifest, HealthReport } from '../../../sdk/types.ts';

/** What the gateway sends a connector's worker. */
export type ToWorker =
  | { readonly type: 'auth'; readonly config: Record<string, unknown>; readonly baseUrl: string }
  | { readonly type: 'health'; readonly id: number }
  | { readonly type: 'call'; readonly id: number; readonly kind: 'query' | 'command' | 'webhook' | 'poll'; readonly capability: string; readonly params: Record<string, unknown>; readonly trace: TraceContext; readonly log: Record<string, unknown>; readonly attributes?: Record<string, string | number> }
  | { readonly type: 'cancel'; readonly id: number; readonly reason: { readonly deadlineMs?: number } }
  | { readonly type: 'authorize'; readonly id: number; readonly request: { readonly method: string; readonly url: string; readonly headers: Record<string, string>; readonly body: string | undefined } }
  | { readonly type: 'ping'; readonly seq: number }
  | { readonly type: 'close' };

/** An error as it crosses the thread boundary. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  /** A code of the gateway's catalogue when the connector threw a typed error. */
  readonly code?: string;
  readonly extensions?: Record<string, unknown>;
}

/** What a connector's worker sends back. */
export type FromWorker =
  | { readonly type: 'loaded'; readonly manifest: ConnectorManifest }
  | { readonly type: 'load-failed'; readonly error: WireError }
  | { readonly type: 'authed' }
  | { readonly type: 'auth-failed'; readonly error: WireError }
  | { readonly type: 'health'; readonly id: number; readonly report: HealthReport }
  /** The answer as JSON text: cheaper across the thread boundary than a structured clone of its object graph, and the stale cache stores the same text. Absent for no answer. */
  | { readonly type: 'result'; readonly id: number; readonly json?: string }
  | { readonly type: 'error'; readonly id: number; readonly error: WireError }
  | { readonly type: 'authorized'; readonly id: number; readonly headers: Record<string, string> }
  | { readonly type: 'pong'; readonly seq: number; readonly vitals: LoopVitals }
  | { readonly type: 'log'; readonly line: string };

/** How the worker's own event loop fared since the last ping, measured inside it. */
export interface LoopVitals {
  /** The longest a timer waited past its time (a blocked loop or a GC pause), in ms. */
  readonly delayMaxMs: number;
  /** Time spent in garbage collection, in ms. */
  readonly gcMs: number;
}

/** Data the worker starts with. */
export interface WorkerInit {
  readonly moduleUrl: string;
  readonly logLevel: string;
  /** The worker's tracing: its service name, when spans are exported where to, and the gateway's sampler (for traces a worker starts itself). */
  readonly telemetry: { readonly serviceName: string; readonly otlpEndpoint?: string; readonly exportDelayMs: number; readonly sampler?: TraceSampler };
}
