import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setFault, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { readSse } from '../support/sse.ts';

const ADMIN_KEY = 'admin-key-events-0123456789';
let gw: TestGateway;
before(async () => {
  gw = await startTestGateway({ OMNIGATE_ADMIN_KEYS: `ops:${ADMIN_KEY}`, OMNIGATE_RESILIENCE_ORDERS_JAVA_VOLUME_THRESHOLD: '2', OMNIGATE_RESILIENCE_ORDERS_JAVA_RETRIES: '0' });
});
after(() => gw.stop());

const reload = () => fetch(`${gw.url}/v1/admin/connectors/crm-python/reload`, { method: 'POST', headers: { 'x-api-key': ADMIN_KEY } });

describe('the event stream (SSE)', () => {
  test('streams connector lifecycle events as CloudEvents, needs a key, and filters by type and subject', async () => {
    assert.equal((await fetch(`${gw.url}/v1/events/stream`)).status, 401);
    const res = await gw.api('/v1/events/stream?type=connector.changed&subject=crm-python');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const stream = readSse(res);
    try {
      assert.equal((await reload()).status, 200);
      // The gateway's own start-up (action start) may still be on its way: wait for the reload.
      const message = await stream.next((m) => m.event === 'connector.changed' && (JSON.parse(m.data) as { data: { action: string } }).data.action === 'reload');
      const event = JSON.parse(message.data) as { specversion: string; type: string; subject: string; data: { action: string; result: string }; partitionkey: string };
      assert.equal(event.specversion, '1.0');
      assert.equal(event.subject, 'crm-python');
      assert.equal(event.partitionkey, 'crm-python');
      assert.deepEqual([event.data.action, event.data.result], ['reload', 'ok']);
      assert.match(message.id ?? '', /^\d+-\d+$/);
      assert.ok(stream.messages.every((m) => m.event === 'connector.changed'), 'the type filter holds');
    } finally {
      await stream.close();
    }
  });

  test('publishes breaker transitions', async () => {
    const stream = readSse(await gw.api('/v1/events/stream?type=breaker.state_changed'));
    try {
      await setFault('orders', { mode: 'down' });
      for (const n of [8001, 8002, 8003]) await gw.api(`/v1/orders/ORD-000${n}`);
      const message = await stream.next(() => true);
      const event = JSON.parse(message.data) as { data: { connector: string; capability: string; state: string } };
      assert.deepEqual(event.data, { connector: 'orders-java', capability: 'order.get', state: 'open' });
    } finally {
      await setFault('orders', { mode: 'ok' });
      await stream.close();
    }
  });

  test('resumes after Last-Event-ID with every event missed, in order, then live ones', async () => {
    const first = readSse(await gw.api('/v1/events/stream?type=connector.changed'));
    await reload();
    const seen = await first.next(() => true);
    await first.close();
    await reload();
    await reload();
    const resumed = readSse(await gw.api('/v1/events/stream?type=connector.changed', { headers: { 'last-event-id': seen.id ?? '' } }));
    try {
      await resumed.next((m) => resumed.messages.length >= 2 && m === resumed.messages[1]);
      const ids = resumed.messages.map((m) => m.id ?? '');
      assert.ok(ids.every((id) => id > (seen.id ?? '')), 'nothing at or before the resume point');
      assert.deepEqual(ids, [...ids].sort());
      await reload();
      await resumed.next((m) => resumed.messages.length >= 3 && m === resumed.messages[2]);
      assert.equal(new Set(resumed.messages.map((m) => m.id)).size, resumed.messages.length, 'no event twice');
    } finally {
      await resumed.close();
    }
  });

  test('exports event metrics: produced, consumed per group, outbox depth', async () => {
    const text = await (await gw.api('/metrics')).text();
    assert.match(text, /omnigate_events_produced_total [1-9]\d*/);
    assert.match(text, /omnigate_events_consumed_total\{group="omnigate-event-log",type="connector\.changed"\} [1-9]\d*/);
    assert.match(text, /omnigate_outbox_depth \d+/);
    assert.match(text, /# TYPE omnigate_consumer_lag gauge/);
  });
});
