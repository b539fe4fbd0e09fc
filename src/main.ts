import cluster from 'node:cluster';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from './config/config.ts';
import type { Config } from './config/config.types.ts';
import { createLogger } from './kernel/logger.ts';
import { createSecrets } from './kernel/secrets.ts';
import { shutDown, shutdownDeadlineMs } from './kernel/shutdown.ts';
import { startGateway } from './gateway.ts';
import { runPrimary } from './primary.ts';

// Composition root: config → logger → gateway → signals. Nothing else reads process.env.
const rootDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function exitOnConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`omnigate: ${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}

let config;
try {
  config = loadConfig(process.env, rootDir);
} catch (err) {
  exitOnConfigError(err);
}

const secrets = createSecrets();
const log = createLogger({ level: config.logLevel, secrets });
process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));

// OMNIGATE_PROCESSES above 1: this process starts and watches the others, which serve (src/primary.ts).
if (config.processes.count > 1 && cluster.isPrimary) await runPrimary(config, log);
else await serve(config);

async function serve(config: Config): Promise<void> {
  const gateway = await startGateway(config, log, rootDir, secrets).catch(exitOnConfigError);

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'shutting down');
      void shutDown({ stop: () => gateway.stop(), exit: (code) => process.exit(code), log, deadlineMs: shutdownDeadlineMs(config.shutdownGraceMs) });
    });
  }
}
