// The thread a connector runs in. It loads the package, holds its credentials and connection
// pools, and runs one operation per `call`; the gateway keeps everything else. A throw, a leak
// or a blocked loop here stays here: the gateway fails this connector's calls and restarts it.
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { AppError, isAppError } from '../../../kernel/errors.ts';
import { lazyChild, redactingPino } from '../../../kernel/logger.ts';
import { inSpan, SpanKind, startTelemetry } from '../../../kernel/telemetry.ts';
import { parentContext, traceOfSpan } from '../../../kernel/trace.ts';
import { isConnector } from '../../../sdk/define-connector.ts';
import { createHttpClient, DeadlineExceeded } from '../../../sdk/http-client.ts';
import { createPools } from '../../../sdk/transport.ts';
import type { Authenticator, Connector, WebhookDelivery } from '../../../sdk/types.ts';
import { runAuthStage } from './auth-stage.ts';
import { batchedPost, eachMessage, type Batch } from './batched-port.ts';
import type { FromWorker, LoopVitals, ToWorker, WireError, WorkerInit } from './protocol.ts';

/** How often the loop probe's timer fires; how late it fires is the loop's delay. */
const LOOP_PROBE_MS = 10;

const port = parentPort;
if (!port) throw new Error('connector-worker must run in a worker thread');
const init = workerData as WorkerInit;
// Answers and log lines go back batched per turn of this loop (batched-port.ts).
const outgoing = batchedPost<FromWorker>((message) => port.postMessage(message));
const send = (message: FromWorker): void => outgoing.send(message);
const log = redactingPino(
  { level: init.logLevel, base: null, timestamp: false },
  { write: (line: string) => send({ type: 'log', line }) },
);
// This thread's own tracing: its spans are the connector's (service omnigate-connector-<name>),
// children of the gateway's connector-call span whose context each `call` carries.
const telemetry = startTelemetry(init.telemetry);
const pools = createPools();
const calls = new Map<number, AbortController>();
let connector: Connector | undefined;
let authenticator: Authenticator | undefined;
// Set by `auth`: the gateway reads the manifest first, then checks the config against it.
let config: Record<string, unknown> = {};
let baseUrl = '';

// This thread's loop, as each pong reports it: the longest delay and the GC time since the last
// ping. A timer of our own rather than monitorEventLoopDelay, whose reset() drops the sample
// spanning it (a stall right after a ping would go unseen).
let delayMaxMs = 0;
let gcMs = 0;
let lastProbe = performance.now();
const loopProbe = setInterval(() => {
  const at = performance.now();
  delayMaxMs = Math.max(delayMaxMs, at - lastProbe - LOOP_PROBE_MS);
  lastProbe = at;
}, LOOP_PROBE_MS).unref();
const gcObserver = new PerformanceObserver((entries) => {
  for (const entry of entries.getEntries()) gcMs += entry.duration;
});
gcObserver.observe({ entryTypes: ['gc'] });
function takeVitals(): LoopVitals {
  const vitals = { delayMaxMs, gcMs };
  delayMaxMs = 0;
  gcMs = 0;
  return vitals;
}

function requireFn<T>(fn: T | undefined, name: string): T {
  // Asking for what the connector does not offer is the caller's mistake, not a connector failure.
  if (!fn) throw new AppError('NOT_FOUND', `this connector has no ${name}()`);
  return fn;
}

function toWire(err: unknown): WireError {
  if (isAppError(err)) return { name: err.name, message: err.message, code: err.code, extensions: { ...err.extensions } };
  const e = err instanceof Error ? err : new Error(String(err));
  return { name: e.name, message: e.message };
}

const client = (signal: AbortSignal, trace?: Parameters<typeof createHttpClient>[0]['trace'], callLog = log) =>
  createHttpClient({ baseUrl, pools, log: callLog, signal, ...(trace ? { trace } : {}), ...(authenticator ? { authenticator } : {}) });

const handlers: { [K in ToWorker['type']]: (message: Extract<ToWorker, { type: K }>) => void | Promise<void> } = {
  async auth(message) {
    try {
      if (!connector) throw new Error('not loaded');
      config = message.config;
      baseUrl = message.baseUrl;
      authenticator = await runAuthStage(connector, { config, log, baseUrl, pools });
      send({ type: 'authed' });
    } catch (err) {
      send({ type: 'auth-failed', error: toWire(err) });
    }
  },
  async health({ id }) {
    try {
      if (!connector) throw new Error('not loaded');
      const signal = AbortSignal.timeout(5_000);
      const trace = { traceId: '0'.repeat(31) + '1', spanId: '0'.repeat(15) + '1', sampled: false, requestId: 'health' };
      send({ type: 'health', id, report: await connector.health({ config, log, signal, trace, http: client(signal) }) });
    } catch (err) {
      send({ type: 'health', id, report: { ok: false, detail: (err as Error).message } });
    }
  },
  async call({ id, kind, capability, params, trace: caller, log: bindings, attributes }) {
    const controller = new AbortController();
    calls.set(id, controller);
    // Made only when the connector logs (its upstream line is at debug).
    const callLog = lazyChild(log, bindings);
    try {
      if (!connector) throw new Error('not loaded');
      const run = connector;
      const spanAttributes = { 'omnigate.capability': capability, 'omnigate.call.kind': kind, ...attributes };
      const data = await inSpan(`${kind} ${capability}`, { kind: SpanKind.SERVER, attributes: spanAttributes }, async (span) => {
        // What the connector sees, and what its HTTP client's client spans hang from, is this span.
        const trace = traceOfSpan(span, caller.requestId) ?? caller;
        const ctx = { config, log: callLog, signal: controller.signal, trace, http: client(controller.signal, trace, callLog) };
        return kind === 'query' ? await run.query(capability, params, ctx)
          : kind === 'command' ? await run.execute(capability, params, ctx)
          : kind === 'webhook' ? await requireFn(run.webhook, 'webhook')(params.delivery as WebhookDelivery, ctx)
          : await requireFn(run.poll, 'poll')(params.cursor as string | undefined, ctx);
      }, parentContext(caller));
      send({ type: 'result', id, ...(data === undefined ? {} : { json: JSON.stringify(data) }) });
    } catch (err) {
      send({ type: 'error', id, error: toWire(err) });
    } finally {
      calls.delete(id);
    }
  },
  cancel({ id, reason }) {
    calls.get(id)?.abort(reason.deadlineMs === undefined ? new Error('the caller went away') : new DeadlineExceeded(reason.deadlineMs));
  },
  async authorize({ id, request }) {
    // For the proxy: the connector's credentials on a request the gateway passes through.
    try {
      const outgoing = { method: request.method, url: new URL(request.url), headers: { ...request.headers }, body: request.body };
      await authenticator?.authorize(outgoing);
      send({ type: 'authorized', id, headers: outgoing.headers });
    } catch (err) {
      send({ type: 'error', id, error: toWire(err) });
    }
  },
  ping({ seq }) {
    send({ type: 'pong', seq, vitals: takeVitals() });
  },
  async close() {
    for (const controller of calls.values()) controller.abort(new Error('connector closing'));
    await connector?.close();
    pools.destroy();
    await telemetry.flush();
    clearInterval(loopProbe);
    gcObserver.disconnect();
    outgoing.flush();
    port.close();
  },
};

port.on('message', (message: ToWorker | Batch<ToWorker>) =>
  eachMessage(message, (one) => void (handlers[one.type] as (m: ToWorker) => void | Promise<void>)(one)),
);

try {
  const module = (await import(init.moduleUrl)) as { default?: unknown };
  if (!isConnector(module.default)) throw new Error('the package must export default defineConnector({...})');
  connector = module.default;
  // The manifest crosses as data: functions in it (there should be none) would not.
  send({ type: 'loaded', manifest: JSON.parse(JSON.stringify(connector.manifest)) });
  // The heartbeat starts now: the first pong reports its first interval, not the package's import.
  takeVitals();
  lastProbe = performance.now();
} catch (err) {
  send({ type: 'load-failed', error: toWire(err) });
}
