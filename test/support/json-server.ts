import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT_DIR } from './gateway.ts';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

/**
 * json-server 0.17.4 (the root's devDependency): a REST backend from a JSON file, third-party
 * software nobody here wrote, that the tests use as "a backend Omnigate has never seen".
 */
const JSON_SERVER_BIN = join(ROOT_DIR, 'node_modules/.bin/json-server');

/** A json-server a test started: stop it after. */
export interface JsonServer {
  /** Where its API lives, context path included: `http://127.0.0.1:<port>/shop/api`, a connector's `baseUrl`. */
  readonly url: string;
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  readonly port: number;
  /** The temp copy of the db it serves (and writes to on POST/PUT/PATCH/DELETE). */
  readonly dbFile: string;
  /** What it printed so far (stdout and stderr). */
  output(): string;
  /** Ends the process and removes its temp folder. */
  stop(): Promise<void>;
}

export interface JsonServerOptions {
  /** The db.json fixture; a temp copy is served, so the fixture never changes. */
  readonly db: string;
  /**
   * The context path its API is served under, and only there (a routes file rewrites
   * `<contextPath>/*` to `/*` and sends the bare paths to a 404); default `/shop/api`.
   */
  readonly contextPath?: string;
  /** Default: a free loopback port. */
  readonly port?: number;
  /** How long it may take to answer; default 20 s. */
  readonly readyTimeoutMs?: number;
}

/**
 * Starts json-server on 127.0.0.1 over a temp copy of `db`, with its API under `contextPath` only
 * (through `--routes`), and resolves once it answers there.
 */
export async function startJsonServer(options: JsonServerOptions): Promise<JsonServer> {
  const contextPath = options.contextPath ?? '/shop/api';
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'omnigate-json-server-'));
  const dbFile = join(dir, 'db.json');
  copyFileSync(options.db, dbFile);
  // As an app deployed under a context path answers: only there. json-server would also serve
  // /customers, so its routes first send every path of its own (a resource, /db) nowhere (a 404),
  // then rewrite <contextPath>/* to them: a client that drops the path fails here as it would there.
  const resources = Object.keys(JSON.parse(readFileSync(dbFile, 'utf8')) as Record<string, unknown>);
  const outside = Object.fromEntries(['db', ...resources].map((name) => [`/${name}*`, '/__outside_the_context_path__']));
  writeFileSync(join(dir, 'routes.json'), JSON.stringify({ ...outside, [`${contextPath}/*`]: '/$1' }));
  let output = '';
  // Its cwd is the temp folder: json-server serves ./public from there, of which there is none.
  const child = spawn(process.execPath, [realpathSync(JSON_SERVER_BIN), 'db.json', '--host', '127.0.0.1', '--port', String(port), '--routes', 'routes.json'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let ended = false;
  void exited.then(() => (ended = true));
  const stop = async () => {
    if (!ended) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const origin = `http://127.0.0.1:${port}`;
  const url = `${origin}${contextPath}`;
  try {
    const state = await waitFor(`json-server answering at ${url}`, async () => (ended ? 'ended' : (await fetch(`${url}/db`)).ok && 'up'), {
      timeoutMs: options.readyTimeoutMs ?? 20_000,
      retryOnError: true,
      detail: () => output,
    });
    if (state === 'ended') throw new Error(`json-server ended before it answered:\n${output}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, origin, port, dbFile, output: () => output, stop };
}
