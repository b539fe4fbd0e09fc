import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { createLogger } from '../../kernel/logger.ts';
import { isAppError } from '../../kernel/errors.ts';
import type { GroupStats } from '../../ports/dispatch-store.ts';
import { readSse } from '../../../test/support/sse.ts';
import { waitFor } from '../../../test/support/wait.ts';
import { createQueueStreams } from './queue-streams.ts';
import type { QueuesView } from './queue-stats.ts';

const T0 = 1_764_669_600_000;
const sales = (queued: number): GroupStats => ({
  group: 'sales', queued, openOffers: 0, ...(queued > 0 ? { oldestEnqueuedAtMs: T0 - 1_000 } : {}),
  agents: { online: 1, away: 0, offline: 0, load: 0, capacity: 3 },
  counters: { offered: 0, accepted: 0, declined: 0, expired: 0, assigned: 0, overflowed: 0 },
  assignedLastMinute: 0,
});

// The store's numbers as the test sets them; the streams read them through the port.
let current: GroupStats[] = [sales(1)];
let reads = 0;
const streams = createQueueStreams({
  store: { stats: async () => (reads++, current) },
  log: createLogger({ level: 'silent' }), now: () => T0, intervalMs: 10, heartbeatMs: 50, maxPerKey: 2, maxBufferBytes: 64 * 1024,
});
const app = express();
app.get('/stream/:owner', (req, res) => {
  try {
    streams.open(res, req.params.owner);
  } catch (err) {
    if (!isAppError(err)) throw err;
    res.status(err.status).json({ code: err.code });
  }
});
let server: Server;
let url: string;
before(async () => {
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await streams.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const queuedIn = (data: string) => (JSON.parse(data) as QueuesView).queues[0]?.queued;

describe('queue streams', () => {
  test('send the numbers at once, then again when they change, the same frame to every stream', async () => {
    current = [sales(1)];
    const first = readSse(await fetch(`${url}/stream/alice`));
    const second = readSse(await fetch(`${url}/stream/bob`));
    try {
      for (const sse of [first, second]) assert.equal(queuedIn((await sse.next((m) => m.event === 'queues')).data), 1);
      current = [sales(4)];
      for (const sse of [first, second]) await sse.next((m) => m.event === 'queues' && queuedIn(m.data) === 4);
      // A new reading with the same numbers is no news: wait for reads past the change, then look.
      const seen = reads;
      await waitFor('three more readings', () => reads >= seen + 3);
      assert.deepEqual(first.messages.map((m) => queuedIn(m.data)), [1, 4]);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  test('refuse a key its stream past the limit per key, and take it again once one is closed', async () => {
    const held = [readSse(await fetch(`${url}/stream/carol`)), readSse(await fetch(`${url}/stream/carol`))];
    await Promise.all(held.map((s) => s.next((m) => m.event === 'queues')));
    const refused = await fetch(`${url}/stream/carol`);
    assert.equal(refused.status, 429);
    assert.deepEqual(await refused.json(), { code: 'STREAM_LIMIT_REACHED' });
    await held[0]!.close();
    await waitFor('the closed stream gone', () => streams.size === 1);
    const again = readSse(await fetch(`${url}/stream/carol`));
    await again.next((m) => m.event === 'queues');
    await Promise.all([held[1]!.close(), again.close()]);
  });

  test('end every stream with a shutdown event when the node stops, and refuse new ones', async () => {
    const sse = readSse(await fetch(`${url}/stream/dave`));
    await sse.next((m) => m.event === 'queues');
    await streams.close();
    assert.deepEqual(JSON.parse((await sse.next((m) => m.event === 'shutdown')).data), { reason: 'this gateway node is shutting down; reconnect to get the numbers from another node' });
    await sse.ended;
    assert.deepEqual(await (await fetch(`${url}/stream/erin`)).json(), { code: 'SHUTTING_DOWN' });
  });
});

