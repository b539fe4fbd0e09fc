// Started once per `npm test` run (node --test --test-global-setup): the three real backends, Kafka,
// the two Redis instances, a Redis Cluster and Jaeger (the tracing tests read their traces from it).
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBackends, type RunningBackends } from '../../scripts/lib/backends.ts';
import { startJaeger, type RunningJaeger } from '../../scripts/lib/jaeger.ts';
import { startKafka, type RunningKafka } from '../../scripts/lib/kafka.ts';
import { startRedisCluster, type RunningRedisCluster } from '../../scripts/lib/redis-cluster.ts';
import { startRedisPair, type RunningRedisPair } from '../../scripts/lib/redis.ts';
import { ORDERS_TOKEN_TTL_SECONDS, TEST_JAEGER_OTLP_PORT, TEST_JAEGER_QUERY_GRPC_PORT, TEST_JAEGER_QUERY_PORT, TEST_KAFKA_CONTROLLER_PORT, TEST_KAFKA_PORT, TEST_PORTS, TEST_REDIS_CACHE_PORT, TEST_REDIS_CLUSTER_BUS_PORTS, TEST_REDIS_CLUSTER_PORTS, TEST_REDIS_PORT } from './ports.ts';

const rootDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
let backends: RunningBackends | undefined;
let redis: RunningRedisPair | undefined;
let kafka: RunningKafka | undefined;
let cluster: RunningRedisCluster | undefined;
let jaeger: RunningJaeger | undefined;

export async function globalSetup(): Promise<void> {
  // Kafka takes the longest to come up: start it first, wait for it last.
  const kafkaDir = join(rootDir, `.data/test-kafka-${TEST_KAFKA_PORT}`);
  rmSync(kafkaDir, { recursive: true, force: true });
  const kafkaReady = startKafka({ port: TEST_KAFKA_PORT, controllerPort: TEST_KAFKA_CONTROLLER_PORT, dir: kafkaDir, rootDir });
  // Its failure is taken up below, after the others: not an unhandled rejection meanwhile.
  kafkaReady.catch(() => undefined);
  // Jaeger (in memory) comes up in a second or two, beside the others.
  const jaegerReady = startJaeger({ otlpPort: TEST_JAEGER_OTLP_PORT, queryPort: TEST_JAEGER_QUERY_PORT, queryGrpcPort: TEST_JAEGER_QUERY_GRPC_PORT, dir: join(rootDir, `.data/test-jaeger-${TEST_JAEGER_QUERY_PORT}`) });
  jaegerReady.catch(() => undefined);
  try {
    // The durable and the cache instance, configured as in production; each run starts empty.
    const redisDir = join(rootDir, `.data/test-redis-${TEST_REDIS_PORT}`);
    rmSync(redisDir, { recursive: true, force: true });
    redis = await startRedisPair({ port: TEST_REDIS_PORT, cachePort: TEST_REDIS_CACHE_PORT, dir: redisDir });
    // The conversation store's suite runs against a Redis Cluster too (three masters).
    const clusterDir = join(rootDir, `.data/test-redis-cluster-${TEST_REDIS_CLUSTER_PORTS[0]}`);
    rmSync(clusterDir, { recursive: true, force: true });
    cluster = await startRedisCluster({ ports: TEST_REDIS_CLUSTER_PORTS, busPorts: TEST_REDIS_CLUSTER_BUS_PORTS, dir: clusterDir });
    backends = await startBackends({
      rootDir,
      ports: TEST_PORTS,
      logDir: join(rootDir, '.data/test-logs'),
      env: { ORDERS_TOKEN_TTL_SECONDS: String(ORDERS_TOKEN_TTL_SECONDS) },
    });
    kafka = await kafkaReady;
    jaeger = await jaegerReady;
  } catch (err) {
    // No teardown follows a failed set-up: stop what did start, or it outlives the run and holds
    // its ports against the next one.
    kafka ??= await kafkaReady.catch(() => undefined);
    jaeger ??= await jaegerReady.catch(() => undefined);
    await globalTeardown();
    throw err;
  }
}

export async function globalTeardown(): Promise<void> {
  await Promise.all([backends?.stop(), redis?.stop(), cluster?.stop(), kafka?.stop(), jaeger?.stop()]);
}
