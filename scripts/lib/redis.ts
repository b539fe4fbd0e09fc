import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { probePort } from './probe.ts';

export interface RunningRedis {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Starts a private redis-server on loopback (no config file, data in `dir`) and waits for PING.
 * `persist` turns on the append-only file, for data that must survive a restart.
 */
export async function startRedis(options: { port: number; dir: string; persist?: boolean }): Promise<RunningRedis> {
  mkdirSync(options.dir, { recursive: true });
  if (await answersPing(options.port)) throw new Error(`port ${options.port} for redis is already in use (set REDIS_PORT to another port)`);
  const args = ['--bind', '127.0.0.1', '--port', String(options.port), '--dir', options.dir, '--save', '', '--appendonly', options.persist ? 'yes' : 'no', '--protected-mode', 'yes', '--loglevel', 'warning'];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', (err) => reject(new Error(`could not start redis-server: ${err.message} (run scripts/install.sh)`))));
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(options.port))) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${stderr.trim()}`);
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${options.port}: ${stderr.trim()}`);
    await Promise.race([new Promise((r) => setTimeout(r, 50)), spawnFailed]);
  }
  return {
    url: `redis://127.0.0.1:${options.port}`,
    port: options.port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
      }),
  };
}

const answersPing = (port: number) => probePort(port, { send: 'PING\r\n', expect: '+PONG' });
