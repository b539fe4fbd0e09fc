import { afterEach } from 'node:test';
import { Writable } from 'node:stream';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectorEnv } from '../../scripts/lib/backends.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/kernel/logger.ts';
import { createSecrets } from '../../src/kernel/secrets.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { TEST_REDIS_CACHE_URL, TEST_REDIS_URL, TEST_URLS } from './ports.ts';

export const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const API_KEY = 'test-key-0123456789abcdef';

export interface TestGateway extends Gateway {
  /** Every log line the gateway wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  /** fetch against the gateway with the API key (unless headers say otherwise). */
  api(path: string, init?: RequestInit): Promise<Response>;
}

/** A real gateway on an ephemeral loopback port, over the backends of this test run. */
let started = 0;

export async function startTestGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'debug', OMNIGATE_API_KEYS: `test:${API_KEY}`, OMNIGATE_CALL_TIMEOUT_MS: '3000', REDIS_URL: TEST_REDIS_URL, REDIS_CACHE_URL: TEST_REDIS_CACHE_URL, OMNIGATE_RATE_LIMIT_PER_KEY: '1000000',
    // Polling the orders feed would add calls that tests count on the backend; the events tests turn it on.
    OMNIGATE_EVENT_POLLING: 'false',
    // The test Redis holds every file's conversations: a routing gateway routes none it did not see queued unless a test asks.
    OMNIGATE_DISPATCH_RECOVER_INTERVAL_MS: '0',
    // Periodic health checks would add calls that tests count on the backends; readyz-health turns them on.
    OMNIGATE_HEALTH_CHECK_INTERVAL_MS: '0',
    // Each gateway of a test is a node of its own (its own outbox), as in production.
    NODE_ID: `test-${process.pid}-${++started}`,
    // …and a cluster of its own for breakers: the test Redis outlives each test's failures and open breakers.
    OMNIGATE_BREAKER_SCOPE: `test-${process.pid}-${started}`,
    // Fast backends outrun the per-connector default; the rate-limit tests set their own.
    OMNIGATE_RESILIENCE_ORDERS_JAVA_RATE_LIMIT_PER_SEC: '100000', OMNIGATE_RESILIENCE_CRM_PYTHON_RATE_LIMIT_PER_SEC: '100000', OMNIGATE_RESILIENCE_TICKETS_NODE_RATE_LIMIT_PER_SEC: '100000', ...connectorEnv(TEST_URLS), ...env }, ROOT_DIR);
  const secrets = createSecrets();
  const gateway = await startGateway(config, createLogger({ level: config.logLevel, secrets }, sink), ROOT_DIR, secrets);
  return Object.assign(gateway, {
    logs,
    api(path: string, init: RequestInit = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has('x-api-key') && !headers.has('authorization')) headers.set('x-api-key', API_KEY);
      return fetch(`${gateway.url}${path}`, { ...init, headers });
    },
  });
}

/** Sets a fault on a backend through its admin endpoint. */
export async function setFault(system: keyof typeof TEST_URLS, fault: { mode: string; latencyMs?: number; errorRate?: number }): Promise<void> {
  const reply = await fetch(`${TEST_URLS[system]}/_admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fault) });
  if (!reply.ok) throw new Error(`could not set fault on ${system}: ${reply.status}`);
}

export async function backendAdmin<T>(system: keyof typeof TEST_URLS, path: string, method = 'GET'): Promise<T> {
  const reply = await fetch(`${TEST_URLS[system]}/_admin/${path}`, { method });
  return (await reply.json()) as T;
}

/**
 * Gateways a test file starts per test, all stopped (with every backend fault reset) after
 * each test: `const { gateway } = perTestGateways();` at the top of the file.
 */
export function perTestGateways(): { gateway(env?: Record<string, string>): Promise<TestGateway> } {
  const started: TestGateway[] = [];
  afterEach(async () => {
    await Promise.all([setFault('orders', { mode: 'ok' }), setFault('crm', { mode: 'ok' }), setFault('tickets', { mode: 'ok' })]);
    await Promise.all(started.splice(0).map((gw) => gw.stop()));
  });
  return {
    async gateway(env = {}) {
      const gw = await startTestGateway(env);
      started.push(gw);
      return gw;
    },
  };
}
