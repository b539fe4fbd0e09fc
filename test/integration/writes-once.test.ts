import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { connectorEnv } from '../../scripts/lib/backends.ts';
import { API_KEY, backendAdmin, ROOT_DIR, setFault } from '../support/gateway.ts';
import { port, TEST_REDIS_CACHE_URL, TEST_REDIS_URL, TEST_URLS } from '../support/ports.ts';

// A write whose outcome is unknown must not run twice: these tests cut a gateway process off
// mid-write with SIGKILL, and count tickets on the backend.

const GATEWAY_PORT = port(18380);
const URL = `http://127.0.0.1:${GATEWAY_PORT}`;
const children = new Set<ChildProcess>();

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await setFault('tickets', { mode: 'ok' });
});

const ticketsInBackend = async () => (await backendAdmin<{ tickets: number }>('tickets', 'stats')).tickets;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A gateway process (src/main.ts), ready; its jobs' locks short, so a killed one's job is taken up soon. */
async function startGateway(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [`${ROOT_DIR}/src/main.ts`], {
    cwd: ROOT_DIR,
    env: {
      PATH: process.env.PATH ?? '', ...connectorEnv(TEST_URLS), REDIS_URL: TEST_REDIS_URL, REDIS_CACHE_URL: TEST_REDIS_CACHE_URL, PORT: String(GATEWAY_PORT), OMNIGATE_API_KEYS: `test:${API_KEY}`,
      OMNIGATE_JOB_LOCK_MS: '1000', OMNIGATE_JOB_BACKOFF_MS: '100', LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let last: unknown;
  const outcome = await until('the gateway to be ready', async () => {
    if (child.exitCode !== null) return 'exited';
    last = await (await fetch(`${URL}/readyz`)).json();
    return (last as { status: string }).status === 'ready' ? 'ready' : undefined;
  }).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(last)}`));
  assert.equal(outcome, 'ready', `the gateway exited with ${child.exitCode} (its stderr is above)`);
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

const api = (path: string, init: RequestInit = {}) => fetch(`${URL}${path}`, { ...init, headers: { 'x-api-key': API_KEY, 'content-type': 'application/json', ...init.headers } });
const ticket = (subject: string) => JSON.stringify({ customerId: '7', subject, description: 'the parcel arrived damaged' });

describe('a gateway killed mid-write', () => {
  test('a ticket job cut off by SIGKILL while the backend is slow opens exactly one ticket once a new gateway runs it again', async () => {
    let gateway = await startGateway();
    const before = await ticketsInBackend();
    await setFault('tickets', { mode: 'latency', latencyMs: 30_000 });
    const res = await api('/v1/tickets', { method: 'POST', headers: { prefer: 'respond-async', 'idempotency-key': randomUUID() }, body: ticket('killed mid-write') });
    assert.equal(res.status, 202);
    const { job } = (await res.json()) as { job: { id: string } };
    // The backend stores a create at once and answers it late: the write has happened, its answer is not back.
    await until('the backend to store the ticket', async () => ((await ticketsInBackend()) === before + 1 ? true : undefined));
    await kill(gateway);
    await setFault('tickets', { mode: 'ok' });

    gateway = await startGateway();
    const done = await until('the job to finish', async () => {
      const view = (await (await api(`/v1/jobs/${job.id}`)).json()) as { state: string; result?: { data: { id: string } } };
      return view.state === 'completed' || view.state === 'dead' ? view : undefined;
    });
    assert.equal(done.state, 'completed');
    assert.equal(await ticketsInBackend(), before + 1, 'the job ran again and opened no second ticket');
    await kill(gateway);
  });
});
