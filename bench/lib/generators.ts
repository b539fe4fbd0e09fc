// Load generator processes: a bench forks its own file with `--generator` a few times and calls
// named handlers in each over IPC. A process may hold at most 20,000 open files here (`ulimit -Hn`),
// so clients are spread over processes, and over source addresses in 127.0.0.0/8 so that no
// (source, destination) pair runs out of ephemeral ports.
import { fork, type ChildProcess } from 'node:child_process';

export type Handlers = Record<string, (params: never) => Promise<unknown>>;

export interface Generator {
  readonly index: number;
  readonly pid: number;
  /** The source address its sockets bind: 127.0.0.<2 + index>. */
  readonly localAddress: string;
  call<T>(handler: string, params?: unknown): Promise<T>;
  stop(): Promise<void>;
}

interface Reply {
  readonly seq: number;
  readonly result?: unknown;
  readonly error?: string;
}

/** True in a process forked by startGenerators. */
export const isGenerator = (): boolean => process.argv.includes('--generator');

/** The source address of generator `index`. */
export const sourceAddress = (index: number): string => `127.0.0.${2 + (index % 250)}`;

/** Forks `file --generator` `count` times. */
export async function startGenerators(file: string, count: number): Promise<Generator[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => startOne(file, index)));
}

async function startOne(file: string, index: number): Promise<Generator> {
  const child: ChildProcess = fork(file, ['--generator', String(index)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let seq = 0;
  child.on('message', (reply: Reply) => {
    const w = waiting.get(reply.seq);
    waiting.delete(reply.seq);
    if (reply.error !== undefined) w?.reject(new Error(`generator ${index}: ${reply.error}`));
    else w?.resolve(reply.result);
  });
  child.on('exit', (code, signal) => {
    for (const w of waiting.values()) w.reject(new Error(`generator ${index} exited (${code ?? signal})`));
    waiting.clear();
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  return {
    index,
    pid: child.pid!,
    localAddress: sourceAddress(index),
    call: <T>(handler: string, params?: unknown) =>
      new Promise<T>((resolve, reject) => {
        const s = ++seq;
        waiting.set(s, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ seq: s, handler, params });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}

/** In the forked process: answers calls with `handlers` until the parent goes away. */
export function serveGenerator(handlers: Handlers): void {
  const index = Number(process.argv[process.argv.indexOf('--generator') + 1]);
  process.on('message', (msg: { seq: number; handler: string; params: unknown }) => {
    const handler = handlers[msg.handler] as ((p: unknown) => Promise<unknown>) | undefined;
    const reply = (r: Omit<Reply, 'seq'>) => process.send?.({ seq: msg.seq, ...r });
    if (!handler) return reply({ error: `no handler ${msg.handler}` });
    handler({ ...(msg.params as object), generator: index }).then(
      (result) => reply({ result }),
      (err: unknown) => reply({ error: err instanceof Error ? err.stack ?? err.message : String(err) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}
