import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, closeSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The version scripts/install-jaeger.sh builds; the binary is cached per version outside the clone. */
export const JAEGER_VERSION = process.env.OMNIGATE_JAEGER_VERSION ?? 'v1.76.0';
const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

export interface RunningJaeger {
  /** Where the gateway sends its spans: `OTEL_EXPORTER_OTLP_ENDPOINT` (OTLP/HTTP; the SDK adds `/v1/traces`). */
  readonly otlpUrl: string;
  /** The query API and UI, e.g. `http://127.0.0.1:16686` (`/api/traces/{traceId}`). */
  readonly queryUrl: string;
  /** SIGTERM (SIGKILL after 5 s) and wait for the exit. Traces are in memory: they go with it. */
  stop(): Promise<void>;
}

export interface JaegerOptions {
  /** OTLP/HTTP receiver, on 127.0.0.1. */
  readonly otlpPort: number;
  /** Query API and UI (HTTP), on 127.0.0.1. */
  readonly queryPort: number;
  /** The query service's gRPC endpoint, which Jaeger always opens: on 127.0.0.1 too. */
  readonly queryGrpcPort: number;
  /** Holds the generated config and the log. */
  readonly dir: string;
  /** The binary; default the cache of scripts/install-jaeger.sh. */
  readonly binary?: string;
  /** A built jaeger-ui (its `index.html` and assets); without it the query API works and the UI page is Jaeger's placeholder. */
  readonly uiAssets?: string;
}

/** The binary scripts/install-jaeger.sh builds: `${OMNIGATE_CACHE_DIR:-~/.cache/omnigate}/jaeger/<version>/jaeger`. */
export function jaegerBinary(): string {
  const cache = process.env.OMNIGATE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'omnigate');
  return join(cache, 'jaeger', JAEGER_VERSION, 'jaeger');
}

/**
 * Jaeger v2's configuration (an OpenTelemetry Collector distribution): only the OTLP/HTTP
 * receiver, in-memory storage, and the query service — every listener on 127.0.0.1. No gRPC,
 * Jaeger or Zipkin receivers, no health/admin/expvar/zpages extensions, and its own metrics off,
 * so nothing else opens a port.
 */
export function jaegerConfig(options: Pick<JaegerOptions, 'otlpPort' | 'queryPort' | 'queryGrpcPort' | 'uiAssets'>): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: []
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
${options.uiAssets ? `    ui:\n      assets_path: ${JSON.stringify(options.uiAssets)}\n` : ''}    http:
      endpoint: 127.0.0.1:${options.queryPort}
    grpc:
      endpoint: 127.0.0.1:${options.queryGrpcPort}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${options.otlpPort}
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

/**
 * Starts Jaeger's all-in-one binary (built once by scripts/install-jaeger.sh) on loopback with
 * in-memory storage, and waits until its query API answers. Its log goes to `<dir>/jaeger.log`.
 */
export async function startJaeger(options: JaegerOptions): Promise<RunningJaeger> {
  const binary = options.binary ?? jaegerBinary();
  if (!existsSync(binary)) throw new Error(`Jaeger ${JAEGER_VERSION} is missing at ${binary} (run scripts/install.sh)`);
  const queryUrl = `http://127.0.0.1:${options.queryPort}`;
  if (await answers(queryUrl)) throw new Error(`port ${options.queryPort} for Jaeger's query API is already in use`);
  mkdirSync(options.dir, { recursive: true });
  const config = join(options.dir, 'jaeger.yaml');
  writeFileSync(config, jaegerConfig(options));
  const logFile = join(options.dir, 'jaeger.log');
  const out = openSync(logFile, 'w');
  const child: ChildProcess = spawn(binary, [`--config=file:${config}`], { stdio: ['ignore', out, out] });
  closeSync(out);
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', (err) => reject(new Error(`could not start Jaeger: ${err.message}`))));
  spawnFailed.catch(() => undefined);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await answers(queryUrl))) {
    if (child.exitCode !== null) throw new Error(`Jaeger exited with ${child.exitCode} — ${logFile}:\n${readFileSync(logFile, 'utf8').slice(-2_000)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Jaeger's query API did not answer on ${queryUrl} within ${START_TIMEOUT_MS} ms — ${logFile}`);
    }
    await Promise.race([new Promise((r) => setTimeout(r, 100)), spawnFailed]);
  }
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS).unref();
    });
  return { otlpUrl: `http://127.0.0.1:${options.otlpPort}`, queryUrl, stop };
}

/** True when Jaeger's query API answers its services listing. */
async function answers(queryUrl: string): Promise<boolean> {
  try {
    const reply = await fetch(`${queryUrl}/api/services`, { signal: AbortSignal.timeout(1_000) });
    return reply.ok;
  } catch {
    return false;
  }
}
