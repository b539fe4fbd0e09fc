// Redis, the three sample backends and the gateway (as its own process) on bench-only ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { connectorEnv, startBackends, type RunningBackends } from '../../scripts/lib/backends.ts';
import { startRedisPair, type RunningRedisPair } from '../../scripts/lib/redis.ts';

/**
 * Clear of the test suite (1808x, 16379, 16390, 18180, 2808x, 26379) and the demo (808x, 6379), and
 * below Linux's ephemeral range (32768-60999): a port in it can be taken at any moment as the
 * local end of some outgoing connection, and a backend then fails to bind.
 */
export const BENCH_PORTS = { redis: 27379, redisCache: 27380, gateway: 27080, orders: 27081, crm: 27082, tickets: 27083 } as const;
/** Where a stack listens: {@link BENCH_PORTS} unless a bench gives its own (the dispatch bench does). */
export type BenchPorts = { readonly [K in keyof typeof BENCH_PORTS]: number };

/**
 * The gateway's settings that differ from its defaults: limits high enough that neither the
 * per-key (default 1,200/min) nor the per-connector limit (default 500/s) refuses a bench
 * request, and a breaker that stays open through the fast-fail phases (default reset 10 s would
 * let half-open trials, and what follows them, into that measurement).
 */
export const BENCH_GATEWAY_ENV = {
  OMNIGATE_RATE_LIMIT_PER_KEY: '100000000',
  OMNIGATE_RESILIENCE_ORDERS_JAVA_RATE_LIMIT_PER_SEC: '1000000',
  OMNIGATE_RESILIENCE_ORDERS_JAVA_RESET_TIMEOUT_MS: '120000',
  // e) measures the connector rate limit's refusal: one CRM call a second gets through.
  OMNIGATE_RESILIENCE_CRM_PYTHON_RATE_LIMIT_PER_SEC: '1',
  // Every feature on, as in production: one access line per request.
  LOG_LEVEL: 'info',
} as const;

/** BENCH_GATEWAY_NODE_FLAGS (`--trace-gc`, say): flags for the gateway's node, which NODE_OPTIONS may not carry. */
const NODE_FLAGS = (process.env.BENCH_GATEWAY_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
/**
 * BENCH_GATEWAY_SETTINGS (`LOG_LEVEL=warn`, say; space-separated NAME=value pairs): gateway settings
 * for an experiment, over the bench's own. The bench's environment is not passed on (see
 * {@link withoutGatewaySettings}), so this is the way to change one.
 */
const EXTRA_SETTINGS: Record<string, string> = Object.fromEntries(
  (process.env.BENCH_GATEWAY_SETTINGS ?? '').split(/\s+/).filter(Boolean).map((pair) => {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`BENCH_GATEWAY_SETTINGS: ${pair} is not NAME=value`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);

/**
 * The orders backend is a JDK HttpServer, which leaves Nagle's algorithm on: a keep-alive reply
 * then waits for the client's delayed ACK, ~40 ms on Linux, and both sides would measure that
 * stall instead of any work. BENCH_JAVA_NODELAY=0 keeps the backend as shipped.
 */
export const JAVA_NODELAY = process.env.BENCH_JAVA_NODELAY !== '0';

export interface Stack {
  readonly gatewayUrl: string;
  readonly ordersUrl: string;
  readonly apiKey: string;
  readonly logDir: string;
  readonly gatewayPid: number | undefined;
  /** Another gateway on the same Redis and backends, with settings of its own (e.g. OMNIGATE_PROCESSES), on `port`; stopped with the stack. */
  startGateway(port: number, env: Record<string, string>): Promise<{ readonly url: string; readonly pid: number | undefined; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;

/**
 * Starts everything; whatever did start is stopped again if a later step fails. `onStop` gets the
 * stop function at once, so a signal during start-up can stop what is already running.
 */
export async function startStack(rootDir: string, say: (line: string) => void, onStop: (stop: () => Promise<void>) => void, ports: BenchPorts = BENCH_PORTS): Promise<Stack> {
  const logDir = join(rootDir, ports.gateway === BENCH_PORTS.gateway ? '.data/bench-logs' : `.data/bench-logs/stack-${ports.gateway}`);
  const apiKey = `bench-${process.pid}-0123456789abcdef`;
  let redis: RunningRedisPair | undefined;
  let backends: RunningBackends | undefined;
  let gateway: ChildProcess | undefined;
  // A stop during start-up waits for the step under way, so that what it starts is stopped too.
  let step: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const track = <T>(starting: Promise<T>): Promise<T> => {
    step = starting.catch(() => undefined);
    return starting;
  };
  const unlessStopped = () => {
    if (stopped) throw new Error('stopped while starting');
  };
  /** Gateways started besides the main one (startGateway). */
  const extras: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    stopped = true;
    await step;
    await Promise.all(extras.map((child) => stopChild(child, 12_000)));
    if (gateway) await stopChild(gateway, 12_000);
    await Promise.all([backends?.stop(), redis?.stop()]);
  };
  onStop(stop);
  try {
    say('starting redis and the sample backends…');
    redis = await track(startRedisPair({ port: ports.redis, cachePort: ports.redisCache, dir: join(rootDir, ports.redis === BENCH_PORTS.redis ? '.data/bench-redis' : `.data/bench-redis-${ports.redis}`) }));
    unlessStopped();
    backends = await track(startBackends({
      rootDir,
      ports: { orders: ports.orders, crm: ports.crm, tickets: ports.tickets },
      logDir,
      // One token for the whole run, on both sides: no refresh inside a measurement.
      env: {
        ORDERS_TOKEN_TTL_SECONDS: '86400',
        ...(JAVA_NODELAY ? { JAVA_TOOL_OPTIONS: `${process.env.JAVA_TOOL_OPTIONS ?? ''} -Dsun.net.httpserver.nodelay=true`.trim() } : {}),
      },
    }));
    unlessStopped();
    const gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
    if (await answers(`${gatewayUrl}/healthz`)) throw new Error(`port ${ports.gateway} for the gateway is already in use`);
    say(`starting the gateway (node --import ./src/instrument.ts src/main.ts, as npm start does; LOG_LEVEL=${EXTRA_SETTINGS.LOG_LEVEL ?? BENCH_GATEWAY_ENV.LOG_LEVEL}${process.env.BENCH_GATEWAY_SETTINGS ? `; ${process.env.BENCH_GATEWAY_SETTINGS}` : ''})…`);
    mkdirSync(logDir, { recursive: true });
    const running = { backends, redis };
    const spawnGateway = (port: number, env: Record<string, string>, logName: string, profiled: boolean): ChildProcess => {
      const logFd = openSync(join(logDir, logName), 'w');
      // BENCH_PROFILE=1: a V8 CPU profile of the gateway for the whole run, written when it stops.
      const profile = profiled && process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${join(rootDir, '.data/bench-profile')}`] : [];
      // As npm start runs it: OpenTelemetry's instrumentations preloaded (src/instrument.ts).
      const child = spawn(process.execPath, [...profile, ...NODE_FLAGS, '--import', join(rootDir, 'src/instrument.ts'), join(rootDir, 'src/main.ts')], {
        cwd: rootDir,
        env: {
          ...withoutGatewaySettings(process.env),
          ...connectorEnv(running.backends.urls),
          ...BENCH_GATEWAY_ENV,
          HOST: '127.0.0.1',
          PORT: String(port),
          ...running.redis.env,
          OMNIGATE_API_KEYS: `bench:${apiKey}`,
          ...EXTRA_SETTINGS,
          ...env,
        },
        // A file, not a pipe to us: the gateway's log writes must not wait on the load generator.
        stdio: ['ignore', logFd, logFd],
      });
      closeSync(logFd);
      return child;
    };
    gateway = spawnGateway(ports.gateway, {}, 'gateway.log', true);
    await track(waitReady(gatewayUrl, gateway, logDir));
    return {
      gatewayUrl, ordersUrl: backends.urls.orders, apiKey, logDir, gatewayPid: gateway.pid, stop,
      async startGateway(port, env) {
        const url = `http://127.0.0.1:${port}`;
        if (await answers(`${url}/healthz`)) throw new Error(`port ${port} for another gateway is already in use`);
        const child = spawnGateway(port, env, `gateway-${port}.log`, false);
        extras.push(child);
        await waitReady(url, child, logDir);
        return { url, pid: child.pid, stop: () => stopChild(child, 12_000) };
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The caller's OMNIGATE_*, OTEL_*, PORT, … would otherwise leak into a bench's gateway and change
 * what is measured; `also` names more to leave out.
 */
export function withoutGatewaySettings(env: NodeJS.ProcessEnv, also: readonly string[] = []): NodeJS.ProcessEnv {
  const drop = new Set(['PORT', 'HOST', 'LOG_LEVEL', 'REDIS_URL', 'REDIS_CACHE_URL', ...also]);
  return Object.fromEntries(Object.entries(env).filter(([name]) => !drop.has(name) && !name.startsWith('OMNIGATE_') && !name.startsWith('OTEL_')));
}

async function waitReady(url: string, child: ChildProcess, logDir: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with ${child.exitCode} before it was ready (see ${logDir}/gateway.log)`);
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) })
      .then((r) => r.json() as Promise<{ status?: string }>)
      .catch(() => undefined);
    if (ready?.status === 'ready') return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`the gateway was not ready at ${url} within ${READY_TIMEOUT_MS} ms (see ${logDir}/gateway.log)`);
}

function answers(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(500) }).then(() => true, () => false);
}

function stopChild(child: ChildProcess, killAfterMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), killAfterMs).unref();
  });
}
