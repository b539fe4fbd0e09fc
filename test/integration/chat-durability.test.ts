import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { startRedis, type RunningRedis } from '../../scripts/lib/redis.ts';
import { chatNodeEnv, readConversation, resumingClient } from '../support/chat-nodes.ts';
import { visitorSession, visitorSocket } from '../support/chat-principals.ts';
import { ROOT_DIR } from '../support/gateway.ts';
import { gatewayProcesses, type GatewayProcess } from '../support/gateway-process.ts';
import { freePort } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';
import type { Frame } from '../support/ws-client.ts';

// Ack-after-durable: a Redis of this file's own (the shared one must not be killed under other
// tests), its append-only file fsynced on every write, killed with SIGKILL mid-stream and started
// again from that file.
const nodes = gatewayProcesses();
let redisPort: number;
let redisDir: string;
let redis: RunningRedis;
let node: GatewayProcess;

/** The durable role's settings, but every write fsynced before Redis answers it: an acked append is on disk. */
async function startStrictRedis(): Promise<RunningRedis> {
  const started = await startRedis({ port: redisPort, dir: redisDir, role: 'durable' });
  const client = new Redis(started.url);
  await client.config('SET', 'appendfsync', 'always');
  client.disconnect();
  return started;
}

before(async () => {
  redisPort = await freePort();
  redisDir = join(ROOT_DIR, `.data/test-redis-chat-durability-${redisPort}`);
  rmSync(redisDir, { recursive: true, force: true });
  redis = await startStrictRedis();
  // The in-process bus: this test is about the store, not Kafka.
  node = await nodes.start({ name: 'durable', env: chatNodeEnv({ REDIS_URL: redis.url, KAFKA_BROKERS: undefined }) });
});
after(async () => {
  await redis?.stop();
  rmSync(redisDir, { recursive: true, force: true });
});

/** Waits until the node says it is ready (its Redis reachable again). */
const untilReady = () =>
  waitFor('the node ready', async () => ((await (await fetch(`${node.url}/readyz`)).json()) as { status: string }).status === 'ready', { timeoutMs: 30_000, intervalMs: 50 });

describe('a chat append is acknowledged only once it is durable', () => {
  test('after Redis is SIGKILLed mid-stream and restarted from its AOF, every acked client id is stored once at its seq; resending every id stores none twice', async (t) => {
    const TOTAL = 120;
    const WINDOW = 8;
    const { token } = await visitorSession(node);
    const visitor = await resumingClient({ urls: [node.url], connect: (n) => visitorSocket(n, token) });
    const conversationId = (await visitor.request({ type: 'conversation.start', subject: 'durability' })).conversationId as string;

    const ids = Array.from({ length: TOTAL }, (_, i) => `durable-${i}`);
    const answerOf = (id: string) => visitor.frames().find((f) => (f.type === 'ack' || f.type === 'error') && f.id === id);
    const ackOf = (id: string) => visitor.acks(id)[0];
    let sent = 0;
    // Keeps WINDOW sends in flight, through the outage: a send Redis cannot take is answered with
    // an error frame (retryable), after which the client waits for the node to be ready again.
    const pump = (async () => {
      while (sent < TOTAL) {
        await waitFor('room in the send window', () => ids.slice(0, sent).filter((id) => !answerOf(id)).length < WINDOW, { timeoutMs: 30_000 });
        if (sent > 0 && answerOf(ids[sent - 1]!)?.type === 'error') await untilReady();
        if (visitor.send({ type: 'message.send', id: ids[sent], conversationId, contentType: 'text', text: `line ${sent}` })) sent += 1;
        else await waitFor('the socket back', () => visitor.socket.ws.readyState === visitor.socket.ws.OPEN, { timeoutMs: 30_000 });
      }
    })();

    await waitFor('a third of the sends acked', () => ids.filter((id) => ackOf(id)).length >= TOTAL / 3, { timeoutMs: 30_000 });
    await redis.kill();
    const ackedBeforeKill = new Map(ids.filter((id) => ackOf(id)).map((id) => [id, ackOf(id)!.seq as number]));
    await visitor.waitFor('a send refused while Redis is down', (f) => f.type === 'error' && f.code === 'STORE_UNAVAILABLE');
    redis = await startStrictRedis();
    await untilReady();
    await pump;
    await waitFor('an answer to every send', () => ids.every((id) => answerOf(id)), { timeoutMs: 30_000 });

    const acked = new Map(ids.filter((id) => ackOf(id)).map((id) => [id, ackOf(id)!.seq as number]));
    const refused = ids.filter((id) => !ackOf(id));
    t.diagnostic(`${ackedBeforeKill.size} acked before the kill, ${acked.size - ackedBeforeKill.size} after the restart, ${refused.length} refused`);
    assert.ok(ackedBeforeKill.size >= TOTAL / 3 && refused.length > 0, `some acked before the kill (${ackedBeforeKill.size}), some refused during the outage (${refused.length})`);

    let stored = await readConversation(node, conversationId, 'messages');
    const seqOf = new Map(stored.map((e) => [e.data.clientId as string, e.seq]));
    for (const [id, seq] of acked) assert.equal(seqOf.get(id), seq, `acked ${id} is stored at seq ${seq}`);

    // The client does not know which refused sends Redis took before it died: it resends everything.
    const resent: Frame[] = [];
    for (const [i, id] of ids.entries()) resent.push(await visitor.request({ type: 'message.send', id, conversationId, contentType: 'text', text: `line ${i}` }));
    for (const [i, id] of ids.entries()) {
      const first = acked.get(id);
      if (first !== undefined) assert.deepEqual([resent[i]?.seq, resent[i]?.duplicate], [first, true], `${id} acked again with its seq, stored once`);
    }

    stored = await readConversation(node, conversationId, 'messages');
    const clientIds = stored.map((e) => e.data.clientId as string);
    assert.deepEqual([...clientIds].sort(), [...ids].sort(), 'every client id stored exactly once');
    const seqs = stored.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'in seq order');
    for (const [i, id] of ids.entries()) assert.equal(stored.find((e) => e.data.clientId === id)?.seq, resent[i]?.seq, `${id}'s ack names its stored seq`);
    await visitor.close();
  });
});
