import type { EventLoopUtilization } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { AppError, ERROR_CATALOGUE, type ErrorCode } from '../../../kernel/errors.ts';
import { parseKeepingText } from '../../../kernel/json-text.ts';
import type { Logger } from '../../../kernel/logger.ts';
import type { TraceSampler } from '../../../kernel/sampling.ts';
import { secretValuesOf, type Secrets } from '../../../kernel/secrets.ts';
import type { TraceContext } from '../../../kernel/trace.ts';
import { DeadlineExceeded } from '../../../sdk/http-client.ts';
import type { ConnectorManifest, HealthReport } from '../../../sdk/types.ts';
import { batchedPost, eachMessage, type Batch } from './batched-port.ts';
import type { FromWorker, LoopVitals, ToWorker, WireError, WorkerInit } from './protocol.ts';

export const DEFAULT_WORKER_HEAP_MB = 96;
export const DEFAULT_HEARTBEAT_MS = 500;
/** A worker that has not answered a ping for this long is blocked: it is terminated. */
export const DEFAULT_BLOCKED_AFTER_MS = 2_000;
const WORKER_ENTRY = new URL('./connector-worker.ts', import.meta.url);

export interface WorkerHostOptions {
  readonly name: string;
  readonly moduleUrl: string;
  readonly log: Logger;
  readonly heapMb?: number;
  readonly heartbeatMs?: number;
  readonly blockedAfterMs?: number;
  /** Learns the connector's `x-secret` config values, and scrubs all known secrets from what the connector writes. */
  readonly secrets?: Secrets;
  /** Where the worker's spans go (the gateway's OTLP endpoint); without it they are made but not exported. */
  readonly telemetry?: WorkerTelemetry;
  /** Called once when the worker dies, crashes or blocks (not on close()). */
  readonly onDeath?: (reason: string) => void;
  /** Told, at each heartbeat the worker answers, how its event loop fared since the last one. */
  readonly onVitals?: (vitals: WorkerVitals) => void;
}

/** A worker's event loop over one heartbeat interval. */
export interface WorkerVitals extends LoopVitals {
  /** The share of the interval its loop was busy, 0 to 1 (measured from this side). */
  readonly utilization: number;
}

/** The gateway's span export settings, handed to each worker (whose environment is empty). */
export interface WorkerTelemetry {
  readonly otlpEndpoint?: string;
  readonly exportDelayMs: number;
  readonly sampler?: TraceSampler;
}

/** A connector worker's service name in traces. */
export const connectorServiceName = (connector: string): string => `omnigate-connector-${connector}`;

export interface CallRequest {
  /** query/command: an operation; webhook: params.delivery; poll: params.cursor. */
  readonly kind: 'query' | 'command' | 'webhook' | 'poll';
  readonly capability: string;
  readonly params: Record<string, unknown>;
  /** The caller's span (the connector call's): the worker's span is its child. */
  readonly trace: TraceContext;
  /** Bindings of the caller's logger (reqId, traceId …), for the worker's log lines. */
  readonly logBindings: Record<string, unknown>;
  /** Attributes for the worker's span (the conversation the call works for …). */
  readonly attributes?: Record<string, string | number>;
}

/** One connector version in its own worker thread, with a heap limit and a heartbeat. */
export interface WorkerHost {
  /** Starts the worker and loads the package; resolves with its manifest. */
  load(): Promise<ConnectorManifest>;
  /** Hands the checked config to the connector and runs its auth(). */
  auth(config: Record<string, unknown>): Promise<void>;
  health(): Promise<HealthReport>;
  call(request: CallRequest, signal: AbortSignal): Promise<unknown>;
  /** The headers the connector's authenticator puts on a raw request (for the proxy). */
  authorize(request: { method: string; url: string; headers: Record<string, string>; body: string | undefined }): Promise<Record<string, string>>;
  /** Calls in flight. */
  readonly inFlight: number;
  readonly isAlive: boolean;
  close(): Promise<void>;
}

/** The error a connector threw, rebuilt on this side of the thread boundary. */
export function fromWire(error: WireError, connector: string): AppError {
  if (error.code && error.code in ERROR_CATALOGUE) return new AppError(error.code as ErrorCode, error.message, { ...error.extensions, connector });
  return new AppError('CONNECTOR_FAILED', `connector ${connector} failed: ${error.name}: ${error.message}`, { connector });
}

export function createWorkerHost(options: WorkerHostOptions): WorkerHost {
  const { name, log, secrets } = options;
  // Connector-written text (errors, health details) reaches problem bodies, the audit trail and
  // events: known secrets are taken out at this boundary, before anyone keeps a copy.
  const scrub = (text: string): string => secrets?.scrub(text) ?? text;
  const scrubbed = (error: WireError): WireError => ({
    ...error,
    message: scrub(error.message),
    ...(error.extensions ? { extensions: JSON.parse(scrub(JSON.stringify(error.extensions))) as Record<string, unknown> } : {}),
  });
  let manifest: ConnectorManifest | undefined;
  const init: WorkerInit = {
    moduleUrl: options.moduleUrl,
    logLevel: log.level,
    // The gateway's tracing settings as they are (endpoint, delay, sampler), under the worker's own name.
    telemetry: { exportDelayMs: 5_000, ...options.telemetry, serviceName: connectorServiceName(name) },
  };
  let worker: Worker | undefined;
  let alive = false;
  let closing = false;
  let nextId = 1;
  let heartbeat: NodeJS.Timeout | undefined;
  /** The ping not yet answered, if any. */
  let outstanding: { seq: number; sentAt: number } | undefined;
  /** The worker's event loop utilization at the last pong (or the heartbeat's start): each pong reports the change since. */
  let eluAtLastPong: EventLoopUtilization | undefined;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: unknown) => void }>();
  const waiting = new Map<string, { resolve: (message: FromWorker) => void; reject: (err: unknown) => void }>();

  /** To the worker of the moment, batched per turn of the loop (batched-port.ts); a new worker gets a sender of its own. */
  let sender: { send(message: ToWorker): void } | undefined;
  const post = (message: ToWorker): void => sender?.send(message);

  function expect(type: string, timeoutMs: number): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(type);
        reject(new Error(`no ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(type, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  function die(reason: string): void {
    if (!alive && !worker) return;
    alive = false;
    if (heartbeat) clearInterval(heartbeat);
    const error = new AppError('CONNECTOR_FAILED', `connector ${name} ${reason}; it is being restarted`, { connector: name });
    for (const call of pending.values()) call.reject(error);
    pending.clear();
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
    const dead = worker;
    worker = undefined;
    sender = undefined;
    void dead?.terminate();
    if (!closing) {
      log.error({ reason }, 'connector worker died');
      options.onDeath?.(reason);
    }
  }

  function onMessage(message: FromWorker): void {
    switch (message.type) {
      case 'result':
        pending.get(message.id)?.resolve(message.json === undefined ? undefined : parseKeepingText(message.json));
        pending.delete(message.id);
        return;
      case 'error':
        pending.get(message.id)?.reject(fromWire(scrubbed(message.error), name));
        pending.delete(message.id);
        return;
      case 'pong': {
        if (outstanding?.seq === message.seq) outstanding = undefined;
        if (!worker || !options.onVitals) return;
        const elu = worker.performance.eventLoopUtilization();
        const { utilization } = eluAtLastPong ? worker.performance.eventLoopUtilization(elu, eluAtLastPong) : elu;
        options.onVitals({ ...message.vitals, utilization });
        eluAtLastPong = elu;
        return;
      }
      case 'log':
        forwardLog(message.line);
        return;
      case 'health':
        pending.get(message.id)?.resolve(message.report.detail === undefined ? message.report : { ...message.report, detail: scrub(message.report.detail) });
        pending.delete(message.id);
        return;
      case 'authorized':
        pending.get(message.id)?.resolve(message.headers);
        pending.delete(message.id);
        return;
      default: {
        const key = message.type === 'load-failed' ? 'loaded' : message.type === 'auth-failed' ? 'authed' : message.type;
        waiting.get(key)?.resolve(message);
        waiting.delete(key);
      }
    }
  }

  /** Worker log lines go out through the gateway's logger (same redaction, same sink). */
  function forwardLog(line: string): void {
    try {
      // `connector` is this logger's binding already: from the line too it would be in the output twice.
      const { level, msg, connector: _connector, ...fields } = JSON.parse(line) as { level: number; msg?: string; connector?: unknown };
      const method = level >= 50 ? 'error' : level >= 40 ? 'warn' : level >= 30 ? 'info' : 'debug';
      log[method](fields, msg ?? '');
    } catch {
      log.info({ line }, 'connector output');
    }
  }

  return {
    get inFlight() {
      return pending.size;
    },
    get isAlive() {
      return alive;
    },

    async load() {
      worker = new Worker(WORKER_ENTRY, {
        workerData: init,
        resourceLimits: { maxOldGenerationSizeMb: options.heapMb ?? DEFAULT_WORKER_HEAP_MB, maxYoungGenerationSizeMb: 16 },
        stdout: false,
        stderr: false,
        // Its own config comes with auth(); nothing of the gateway's environment (keys, other
        // connectors' secrets). /proc/self/environ is still readable: connectors are trusted code.
        env: {},
      });
      alive = true;
      const started = worker;
      sender = batchedPost<ToWorker>((message) => started.postMessage(message));
      worker.on('message', (message: FromWorker | Batch<FromWorker>) => eachMessage(message, onMessage));
      worker.on('error', (err) => die(`crashed: ${scrub(err.message)}`));
      worker.on('exit', (code) => die(`exited with code ${code}`));
      const loaded = await expect('loaded', 15_000);
      if (loaded.type === 'load-failed') throw new Error(scrub(loaded.error.message));
      if (loaded.type !== 'loaded') throw new Error(`unexpected ${loaded.type}`);
      eluAtLastPong = worker.performance.eventLoopUtilization();
      heartbeat = setInterval(() => {
        if (!outstanding) {
          outstanding = { seq: nextId++, sentAt: Date.now() };
          post({ type: 'ping', seq: outstanding.seq });
          return;
        }
        const late = outstanding;
        if (Date.now() - late.sentAt <= (options.blockedAfterMs ?? DEFAULT_BLOCKED_AFTER_MS)) return;
        // Our own loop may have been the busy one, with the pong waiting in the queue: let
        // queued messages through first, and only then call the worker blocked.
        setImmediate(() => {
          if (outstanding === late) die('stopped answering (its event loop is blocked)');
        });
      }, options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
      heartbeat.unref();
      manifest = loaded.manifest;
      return loaded.manifest;
    },

    async auth(config) {
      secrets?.add(...secretValuesOf(manifest?.configSchema, config));
      const answer = expect('authed', 15_000);
      post({ type: 'auth', config, baseUrl: String(config.baseUrl ?? '') });
      const message = await answer;
      if (message.type === 'auth-failed') throw fromWire(scrubbed(message.error), name);
    },

    health() {
      const id = nextId++;
      return new Promise<HealthReport>((resolve, reject) => {
        if (!alive) return reject(new AppError('CONNECTOR_FAILED', `connector ${name} is not running`, { connector: name }));
        // The worker bounds the check itself; this bound only keeps a silent worker from leaking entries.
        const timer = setTimeout(() => {
          pending.delete(id);
          resolve({ ok: false, detail: 'no health report within 10000 ms' });
        }, 10_000);
        timer.unref();
        pending.set(id, {
          resolve: (r) => (clearTimeout(timer), resolve(r as HealthReport)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
        post({ type: 'health', id });
      });
    },

    authorize(request) {
      const id = nextId++;
      return new Promise<Record<string, string>>((resolve, reject) => {
        if (!alive) return reject(new AppError('CONNECTOR_FAILED', `connector ${name} is not running`, { connector: name }));
        pending.set(id, { resolve: (h) => resolve(h as Record<string, string>), reject });
        post({ type: 'authorize', id, request });
      });
    },

    call(request, signal) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        if (!alive) return reject(new AppError('CONNECTOR_FAILED', `connector ${name} is not running; it is being restarted`, { connector: name }));
        const onAbort = () => {
          const deadlineMs = signal.reason instanceof DeadlineExceeded ? signal.reason.timeoutMs : undefined;
          post({ type: 'cancel', id, reason: deadlineMs === undefined ? {} : { deadlineMs } });
        };
        signal.addEventListener('abort', onAbort, { once: true });
        pending.set(id, {
          resolve: (value) => {
            signal.removeEventListener('abort', onAbort);
            resolve(value);
          },
          reject: (err) => {
            signal.removeEventListener('abort', onAbort);
            reject(err);
          },
        });
        post({ type: 'call', id, kind: request.kind, capability: request.capability, params: request.params, trace: request.trace, log: request.logBindings, ...(request.attributes ? { attributes: request.attributes } : {}) });
      });
    },

    async close() {
      closing = true;
      if (heartbeat) clearInterval(heartbeat);
      const current = worker;
      if (!current) return;
      const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
      post({ type: 'close' });
      const timer = setTimeout(() => void current.terminate(), 2_000);
      await exited;
      clearTimeout(timer);
      worker = undefined;
      sender = undefined;
      alive = false;
    },
  };
}
