import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** Where the three sample backends listen. */
export interface BackendPorts {
  readonly orders: number;
  readonly crm: number;
  readonly tickets: number;
}

export interface RunningBackends {
  readonly urls: { readonly orders: string; readonly crm: string; readonly tickets: string };
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;

/**
 * Starts the Java orders, Python CRM and Node tickets backends (each with its own defaults for
 * credentials), waits until each answers /health, and logs their stdout to `logDir`.
 */
export async function startBackends(options: { rootDir: string; ports: BackendPorts; logDir: string; env?: NodeJS.ProcessEnv }): Promise<RunningBackends> {
  const { rootDir, ports, logDir } = options;
  mkdirSync(logDir, { recursive: true });
  const env = { ...process.env, ...options.env, OMNIGATE_SEED_DIR: join(rootDir, '.data/seed') };
  const specs = [
    { name: 'orders', port: ports.orders, cmd: 'java', args: ['-Xshare:auto', '-XX:TieredStopAtLevel=1', '-cp', join(rootDir, '.build/orders-java'), 'omnigate.orders.Main'], portVar: 'ORDERS_PORT' },
    { name: 'crm', port: ports.crm, cmd: 'python3', args: [join(rootDir, 'backends/crm-python/server.py')], portVar: 'CRM_PORT' },
    { name: 'tickets', port: ports.tickets, cmd: process.execPath, args: [join(rootDir, 'backends/tickets-node/server.mjs')], portVar: 'TICKETS_PORT' },
  ];
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
          }),
      ),
    );
  };
  try {
    await Promise.all(
      specs.map(async (spec) => {
        // Something already answering there would pass the health check in place of ours.
        const squatter = await fetch(`http://127.0.0.1:${spec.port}/health`, { signal: AbortSignal.timeout(500) }).then(() => true, () => false);
        if (squatter) throw new Error(`port ${spec.port} for ${spec.name} is already in use (set ${spec.portVar} to another port)`);
        const child = spawn(spec.cmd, spec.args, { cwd: rootDir, env: { ...env, [spec.portVar]: String(spec.port) }, stdio: ['ignore', 'pipe', 'pipe'] });
        children.push(child);
        const out = createWriteStream(join(logDir, `${spec.name}.log`));
        child.stdout?.pipe(out);
        let stderr = '';
        child.stderr?.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          out.write(chunk);
        });
        await waitForHealth(`http://127.0.0.1:${spec.port}/health`, child, () => `${spec.name}: ${stderr.trim().slice(-500)}`);
      }),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    urls: { orders: `http://127.0.0.1:${ports.orders}`, crm: `http://127.0.0.1:${ports.crm}`, tickets: `http://127.0.0.1:${ports.tickets}` },
    stop,
  };
}

async function waitForHealth(url: string, child: ChildProcess, describe: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`backend exited with ${child.exitCode} before it was healthy — ${describe()}`);
    try {
      const reply = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (reply.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`backend not healthy at ${url} within ${START_TIMEOUT_MS} ms — ${describe()}`);
}

/** The gateway's connector settings for backends started here (the backends' own dev credentials). */
export function connectorEnv(urls: RunningBackends['urls']): Record<string, string> {
  return {
    OMNIGATE_CONNECTOR_ORDERS_JAVA_BASE_URL: urls.orders,
    OMNIGATE_CONNECTOR_ORDERS_JAVA_CLIENT_ID: 'omnigate',
    OMNIGATE_CONNECTOR_ORDERS_JAVA_CLIENT_SECRET: 'orders-dev-secret',
    OMNIGATE_CONNECTOR_CRM_PYTHON_BASE_URL: urls.crm,
    OMNIGATE_CONNECTOR_CRM_PYTHON_API_TOKEN: 'crm-dev-token',
    OMNIGATE_CONNECTOR_TICKETS_NODE_BASE_URL: urls.tickets,
    OMNIGATE_CONNECTOR_TICKETS_NODE_HMAC_SECRET: 'tickets-dev-secret',
    OMNIGATE_CONNECTOR_TICKETS_NODE_WEBHOOK_SECRET: 'tickets-webhook-secret',
  };
}
