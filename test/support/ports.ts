import { createServer } from 'node:net';

/**
 * Fixed loopback ports of what a test run starts once (apart from the demo's 808x). Set
 * OMNIGATE_TEST_PORT_OFFSET to run two suites side by side on one machine.
 */
const offset = Number(process.env.OMNIGATE_TEST_PORT_OFFSET ?? 0);
export const port = (base: number): number => base + offset;

export const TEST_PORTS = { orders: port(18081), crm: port(18082), tickets: port(18083) } as const;
/** The durable Redis (outbox, queues, idempotency …): AOF, noeviction. */
export const TEST_REDIS_PORT = port(16379);
export const TEST_REDIS_URL = `redis://127.0.0.1:${TEST_REDIS_PORT}`;
/** The cache Redis (stale answers, rate-limit buckets): allkeys-lru under maxmemory. */
export const TEST_REDIS_CACHE_PORT = port(16380);
export const TEST_REDIS_CACHE_URL = `redis://127.0.0.1:${TEST_REDIS_CACHE_PORT}`;
export const TEST_URLS = {
  orders: `http://127.0.0.1:${TEST_PORTS.orders}`,
  crm: `http://127.0.0.1:${TEST_PORTS.crm}`,
  tickets: `http://127.0.0.1:${TEST_PORTS.tickets}`,
} as const;
/** A three-master Redis Cluster (the conversation store's conformance suite); cluster bus on port + 10000. */
export const TEST_REDIS_CLUSTER_PORTS = [port(16395), port(16396), port(16397)] as const;
/**
 * Their cluster bus ports, set explicitly: Redis's default (port + 10000) falls into the kernel's
 * ephemeral range (32768+) once an offset is added, where an outgoing connection may hold it.
 */
export const TEST_REDIS_CLUSTER_BUS_PORTS = [port(16495), port(16496), port(16497)] as const;
export const TEST_REDIS_CLUSTER_NODES = TEST_REDIS_CLUSTER_PORTS.map((p) => ({ host: '127.0.0.1', port: p }));
export const TEST_KAFKA_PORT = port(19092);
export const TEST_KAFKA_CONTROLLER_PORT = port(19093);
export const TEST_KAFKA_BROKERS = [`127.0.0.1:${TEST_KAFKA_PORT}`];
/** Jaeger (scripts/lib/jaeger.ts): OTLP/HTTP in, query API out, and its query gRPC (opened regardless; loopback too). */
export const TEST_JAEGER_OTLP_PORT = port(14318);
export const TEST_JAEGER_QUERY_PORT = port(17686);
export const TEST_JAEGER_QUERY_GRPC_PORT = port(17685);
/** `OTEL_EXPORTER_OTLP_ENDPOINT` of a test gateway whose spans go to the run's Jaeger. */
export const TEST_OTLP_ENDPOINT = `http://127.0.0.1:${TEST_JAEGER_OTLP_PORT}`;
/** The run's Jaeger query API (`/api/traces/{traceId}`). */
export const TEST_JAEGER_QUERY_URL = `http://127.0.0.1:${TEST_JAEGER_QUERY_PORT}`;
/** Short-lived orders tokens, so expiry and refresh happen within a test. */
export const ORDERS_TOKEN_TTL_SECONDS = 3;

/**
 * A random client address in 127.0.0.0/8 (Linux answers the whole block on lo), for a test of
 * per-address limits: counts left by earlier tests and runs in the shared Redis do not meet it.
 */
export function loopbackAddress(): string {
  const octet = () => 2 + Math.floor(Math.random() * 250);
  return `127.${octet()}.${octet()}.${octet()}`;
}

/** A loopback port nobody listens on now, for a server one test starts for itself (no two tests share it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: free } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return free;
}
