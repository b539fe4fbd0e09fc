import assert from 'node:assert/strict';
import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { scratchDir } from '../support/connector-packages.ts';
import { perTestGateways, ROOT_DIR, type TestGateway } from '../support/gateway.ts';

const { gateway } = perTestGateways();

// Names unique to this run: subscriptions live in the shared Redis.
const ALICE = `alice-${process.pid}`;
const BOB = `bob-${process.pid}`;
const ALICE_OLD = 'alice-old-key-0123456789';
const ALICE_NEW = 'alice-new-key-0123456789';
const BOB_KEY = 'bob-key-0123456789abcdef';

const subscriptionsOf = async (gw: TestGateway, key: string): Promise<string[]> => {
  const res = await gw.api('/v1/webhooks/subscriptions', { headers: { 'x-api-key': key } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { subscriptions: { id: string }[] }).subscriptions.map((s) => s.id);
};

describe('principals', () => {
  test("a key's name owns what it made: a rotated key keeps it, removing a key hands nothing to another", async () => {
    // One connector (a gateway with none does not take requests): ownership needs no more, and it starts faster.
    const dir = scratchDir('principals');
    symlinkSync(join(ROOT_DIR, 'connectors/crm-python'), join(dir, 'crm-python'));
    const env = { OMNIGATE_CONNECTORS_DIR: dir, OMNIGATE_WEBHOOK_ALLOW_PRIVATE: 'true' };
    try {
      const first = await gateway({ ...env, OMNIGATE_API_KEYS: `${ALICE}:${ALICE_OLD},${BOB}:${BOB_KEY}` });
      const created = await first.api('/v1/webhooks/subscriptions', {
        method: 'POST',
        headers: { 'x-api-key': ALICE_OLD, 'content-type': 'application/json' },
        body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', secret: 'subscription-secret-0123456789', types: ['connector.changed'] }),
      });
      assert.equal(created.status, 201);
      const { id } = (await created.json()) as { id: string };
      await first.stop();

      // Rotation: the old key and the new one under one name.
      const rotating = await gateway({ ...env, OMNIGATE_API_KEYS: `${BOB}:${BOB_KEY},${ALICE}:${ALICE_OLD},${ALICE}:${ALICE_NEW}` });
      assert.deepEqual(await subscriptionsOf(rotating, ALICE_OLD), [id]);
      assert.deepEqual(await subscriptionsOf(rotating, ALICE_NEW), [id]);
      assert.deepEqual(await subscriptionsOf(rotating, BOB_KEY), []);
      await rotating.stop();

      // The old key removed, Bob's now first in the list (by position he would have taken Alice's name).
      const rotated = await gateway({ ...env, OMNIGATE_API_KEYS: `${BOB}:${BOB_KEY},${ALICE}:${ALICE_NEW}` });
      assert.deepEqual(await subscriptionsOf(rotated, BOB_KEY), []);
      assert.equal((await rotated.api('/v1/webhooks/subscriptions', { headers: { 'x-api-key': ALICE_OLD } })).status, 401);
      assert.deepEqual(await subscriptionsOf(rotated, ALICE_NEW), [id]);
      assert.equal((await rotated.api(`/v1/webhooks/subscriptions/${id}`, { method: 'DELETE', headers: { 'x-api-key': ALICE_NEW } })).status, 204);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
