import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { createRedisPresenceStore } from '../../src/adapters/redis/redis-presence-store.ts';
import { createRedis, type RedisHandle } from '../../src/adapters/redis/redis-client.ts';
import type { PresenceStore } from '../../src/ports/presence-store.ts';
import { TEST_REDIS_URL } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

// The presence store on the real test Redis (shared by every file: each test uses agents of its own).
let redis: RedisHandle;
let presence: PresenceStore;
before(async () => {
  redis = createRedis(TEST_REDIS_URL, pino({ level: 'silent' }));
  await waitFor('redis up', () => redis.isUp());
  presence = createRedisPresenceStore(redis);
});
after(() => redis.close());

const agent = () => `presence-${randomUUID()}`;

test("one agent's presence is online if any of its sockets is, away if all are, offline with none", async () => {
  const a = agent();
  assert.equal(await presence.get(a), 'offline');
  await presence.set(a, 's1', 'away', 60_000);
  assert.equal(await presence.get(a), 'away');
  await presence.set(a, 's2', 'online', 60_000);
  assert.equal(await presence.get(a), 'online');
  await presence.remove(a, 's2');
  assert.equal(await presence.get(a), 'away');
  await presence.remove(a, 's1');
  assert.equal(await presence.get(a), 'offline');
});

test('the list holds every agent with a live socket, each with its presence, and agree with get', async () => {
  const agents = Array.from({ length: 50 }, agent);
  await Promise.all(agents.map((a, i) => presence.set(a, 's', i % 2 === 0 ? 'online' : 'away', 60_000)));
  const listed = new Map((await presence.list()).map((p) => [p.agentId, p.status] as const));
  for (const [i, a] of agents.entries()) {
    assert.equal(listed.get(a), i % 2 === 0 ? 'online' : 'away');
    assert.equal(await presence.get(a), listed.get(a));
  }
  await Promise.all(agents.map((a) => presence.remove(a, 's')));
  const after = new Set((await presence.list()).map((p) => p.agentId));
  assert.ok(agents.every((a) => !after.has(a)));
});
