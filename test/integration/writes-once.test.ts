import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectorEnv } from '../../scripts/lib/backends.ts';
import { startRedis } from '../../scripts/lib/redis.ts';
import { API_KEY, backendAdmin, ROOT_DIR, setFault } from '../support/gateway.ts';
import { freePort, port, TEST_REDIS_CACHE_URL, TEST_URLS } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

// A write whose outcome is unknown must not run twice: these tests cut a gateway process off
// mid-write with SIGKILL, and count tickets on the backend.

const GATEWAY_PORT = port(18380);
const URL = `http://127.0.0.1:${GATEWAY_PORT}`;
const children = new Set<ChildProcess>();
// A Redis of this file's own: its job queue sees no other gateway, whose stalled-job check (every
// 30 s by default) would hold off the one that takes up the killed node's job.
let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
let redisDir: string;

before(async () => {
  const redisPort = await freePort();
  redisDir = join(ROOT_DIR, `.data/test-redis-writes-once-${redisPort}`);
  redis = await startRedis({ port: redisPort, dir: redisDir, role: 'durable' });
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await setFault('tickets', { mode: 'ok' });
  await redis?.stop();
  rmSync(redisDir, { recursive: true, force: true });
});

/** A gateway restarting, or a backend held by a fault, may not answer a probe yet: that is "not yet". */
const WAIT = { intervalMs: 100, retryOnError: true };

const ticketsInBackend = async () => (await backendAdmin<{ tickets: number }>('tickets', 'stats')).tickets;

/**
 * A gateway process (src/main.ts), ready. Its jobs' locks are short, so a killed one's job is taken
 * up soon; its call deadline is short, so an Idempotency-Key's lock lapses soon (twice it + 1 s).
 */
async function startGateway(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [`${ROOT_DIR}/src/main.ts`], {
    cwd: ROOT_DIR,
    env: {
      PATH: process.env.PATH ?? '', ...connectorEnv(TEST_URLS), REDIS_URL: redis?.url ?? '', REDIS_CACHE_URL: TEST_REDIS_CACHE_URL, PORT: String(GATEWAY_PORT), OMNIGATE_API_KEYS: `test:${API_KEY}`,
      OMNIGATE_JOB_LOCK_MS: '1000', OMNIGATE_JOB_BACKOFF_MS: '100', OMNIGATE_CALL_TIMEOUT_MS: '3000', LOG_LEVEL: 'warn',
      // The key's per-minute count is shared in the lane's cache Redis with every test file before
      // that used it (CI once answered 429 to this file's first write): lifted, as for test gateways.
      OMNIGATE_RATE_LIMIT_PER_KEY: '1000000',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let last: unknown;
  const outcome = await waitFor('the gateway to be ready', async () => {
    if (child.exitCode !== null) return 'exited';
    last = await (await fetch(`${URL}/readyz`)).json();
    return (last as { status: string }).status === 'ready' ? 'ready' : undefined;
  }, { ...WAIT, detail: () => `its last /readyz: ${JSON.stringify(last)}` });
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
  test('a ticket job and a create with an Idempotency-Key, cut off by SIGKILL while the backend is slow, each open exactly one ticket after a restart', async () => {
    let gateway = await startGateway();
    const before = await ticketsInBackend();
    // The backend stores a create at once and holds its answer until the fault is lifted: the
    // writes have happened, their answers are not back when the gateway dies.
    await setFault('tickets', { mode: 'hold' });
    const res = await api('/v1/tickets', { method: 'POST', headers: { prefer: 'respond-async', 'idempotency-key': randomUUID() }, body: ticket('job killed mid-write') });
    assert.equal(res.status, 202);
    const { job } = (await res.json()) as { job: { id: string } };
    // The job's ticket first: the request's own write is then stored just before the kill, well
    // within its call deadline, however long the job took to start.
    await waitFor('the backend to store the job\'s ticket', async () => (await ticketsInBackend()) === before + 1, WAIT);
    const key = randomUUID();
    const body = ticket('request killed mid-write');
    const cutOff = api('/v1/tickets', { method: 'POST', headers: { 'idempotency-key': key }, body }).catch(() => undefined);
    await waitFor('the backend to store both tickets', async () => (await ticketsInBackend()) === before + 2, WAIT);
    await kill(gateway);
    assert.equal(await cutOff, undefined, 'the request was cut off before its answer');
    await setFault('tickets', { mode: 'ok' });

    gateway = await startGateway();
    const done = await waitFor('the job to finish', async () => {
      const view = (await (await api(`/v1/jobs/${job.id}`)).json()) as { state: string };
      return view.state === 'completed' || view.state === 'dead' ? view : undefined;
    }, WAIT);
    assert.equal(done.state, 'completed');
    // The key stays held while the cut-off write might still run, then the repeat runs it again with its token.
    const repeat = await waitFor('the key to be free', async () => {
      const answer = await api('/v1/tickets', { method: 'POST', headers: { 'idempotency-key': key }, body });
      return answer.status === 409 ? undefined : answer;
    }, WAIT);
    assert.equal(repeat.status, 201);
    assert.equal(await ticketsInBackend(), before + 2, 'neither the job nor the repeat opened a second ticket');
    await kill(gateway);
  });
});
