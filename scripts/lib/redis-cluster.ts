import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startRedis, type RunningRedis } from './redis.ts';

const run = promisify(execFile);

/** A local Redis Cluster of masters without replicas. */
export interface RunningRedisCluster {
  /** `127.0.0.1:<port>` of each master, for ioredis's `Cluster`. */
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  stop(): Promise<void>;
}

/**
 * Starts one redis-server per port in cluster mode (the durable role's settings, data and
 * nodes.conf in `dir/<port>`; the cluster bus on `busPorts`, else port + 10000), joins them with
 * `redis-cli --cluster create … --cluster-replicas 0` (the slots split evenly) and waits until
 * every node says `cluster_state:ok`. Stops whatever started if a step fails.
 */
export async function startRedisCluster(options: { ports: readonly number[]; busPorts?: readonly number[]; dir: string }): Promise<RunningRedisCluster> {
  const started = await Promise.allSettled(
    options.ports.map((port, i) =>
      startRedis({
        port, dir: join(options.dir, String(port)), role: 'durable',
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--cluster-port', String(options.busPorts?.[i] ?? port + 10_000)],
      }),
    ),
  );
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async () => void (await Promise.all(servers.map((s: RunningRedis) => s.stop())));
  try {
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    await run('redis-cli', ['--cluster', 'create', ...options.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    const deadline = Date.now() + 20_000;
    for (const port of options.ports) {
      while (!/cluster_state:ok/.test((await run('redis-cli', ['-p', String(port), 'cluster', 'info'])).stdout)) {
        if (Date.now() > deadline) throw new Error(`redis cluster node ${port} did not reach cluster_state:ok`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes: options.ports.map((port) => ({ host: '127.0.0.1', port })), stop };
}
