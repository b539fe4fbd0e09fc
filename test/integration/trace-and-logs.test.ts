import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { API_KEY, backendAdmin, startTestGateway, type TestGateway } from '../support/gateway.ts';

let gw: TestGateway;
before(async () => {
  gw = await startTestGateway();
});
after(() => gw.stop());

type Logged = { method: string; path: string; traceparent: string | null };
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('trace context and logs', () => {
  test("continues the caller's traceparent to every backend of a context call", async () => {
    const res = await gw.api('/v1/customers/42/context', { headers: { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('traceparent') ?? '', new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    assert.ok(res.headers.get('x-request-id'));
    for (const system of ['crm', 'orders', 'tickets'] as const) {
      const seen = await backendAdmin<Logged[]>(system, 'requests');
      assert.ok(seen.some((r) => r.traceparent?.split('-')[1] === TRACE_ID), `${system} did not see trace ${TRACE_ID}`);
    }
  });

  test('starts a new trace when the caller sends none or a malformed one, and echoes a sane request id', async () => {
    const res = await gw.api('/v1/customers/1', { headers: { traceparent: 'garbage', 'x-request-id': 'req-123' } });
    assert.match(res.headers.get('traceparent') ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.equal(res.headers.get('x-request-id'), 'req-123');
  });

  test('puts trace id and request id in every log line of a request', async () => {
    const res = await gw.api('/v1/customers/42/context', { headers: { traceparent: `00-${TRACE_ID}-00f067aa0ba902b8-01`, 'x-request-id': 'log-check-1' } });
    await res.json();
    const lines = gw.logs.filter((l) => l.reqId === 'log-check-1');
    assert.ok(lines.some((l) => l.msg === 'upstream call'));
    assert.ok(lines.some((l) => l.msg === 'request done'));
    for (const line of lines) assert.equal(line.traceId, TRACE_ID);
  });

  test('never writes a secret to the logs', async () => {
    await gw.api('/v1/orders/ORD-0000001');
    const all = JSON.stringify(gw.logs);
    for (const secret of [API_KEY, 'orders-dev-secret', 'crm-dev-token', 'tickets-dev-secret']) {
      assert.equal(all.includes(secret), false, `a log line contains ${secret.slice(0, 6)}…`);
    }
  });
});
