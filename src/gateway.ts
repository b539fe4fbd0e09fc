import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Config } from './config/config.ts';
import type { Logger } from './kernel/logger.ts';
import { createSchemaRegistry } from './kernel/schemas.ts';
import { buildApp } from './app.ts';
import { createConnectorRegistry, type ConnectorRegistry } from './modules/connectors/registry.ts';
import { loadOpenApi } from './kernel/openapi.ts';
import { createContextService } from './modules/query/context.service.ts';
import { createQueryService } from './modules/query/query.service.ts';

/** A running gateway: its server, registry and a clean stop. */
export interface Gateway {
  readonly server: Server;
  readonly registry: ConnectorRegistry;
  /** The URL it listens on. */
  readonly url: string;
  /** Stops accepting, drains in-flight requests (bounded by shutdownGraceMs), closes connectors. */
  stop(): Promise<void>;
}

/** Wires adapters and modules together and listens. main.ts and the integration tests both use it. */
export async function startGateway(config: Config, log: Logger, rootDir: string): Promise<Gateway> {
  const schemas = createSchemaRegistry(join(rootDir, 'schemas'));
  const registry = createConnectorRegistry({ log, connectorsDir: config.connectorsDir, connectorEnv: config.connectorEnv, schemas });
  const query = createQueryService({ registry, schemas, callTimeoutMs: config.callTimeoutMs });
  const context = createContextService({ query });
  let accepting = false;
  const app = buildApp({ config, log, rootDir, openapi: loadOpenApi(rootDir), registry, query, context, isAccepting: () => accepting });

  await registry.start();
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  accepting = true;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host}:${port}`;
  log.info({ url, connectors: registry.list().map((e) => `${e.name}:${e.state}`) }, 'gateway listening');

  let stopping: Promise<void> | undefined;
  return {
    server,
    registry,
    url,
    stop() {
      stopping ??= (async () => {
        accepting = false;
        log.info({ graceMs: config.shutdownGraceMs }, 'draining');
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const grace = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), config.shutdownGraceMs).unref());
        if ((await Promise.race([closed, grace])) === 'timeout') {
          log.warn('grace period over: closing remaining connections');
          server.closeAllConnections();
          await closed;
        }
        await registry.close();
        log.info('stopped');
      })();
      return stopping;
    },
  };
}
