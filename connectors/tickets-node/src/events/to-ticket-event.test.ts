import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { UnauthorizedError } from 'omnigate/sdk';
import { toTicketEvents } from './to-ticket-event.ts';

const ticket = (JSON.parse(readFileSync(new URL('../fixtures/get-reply.json', import.meta.url), 'utf8')) as { result: unknown }).result;
const config = { baseUrl: 'http://127.0.0.1:1', hmacSecret: 'x', webhookSecret: 'hook-secret', webhookToleranceMs: 300_000 };
const now = 1_800_000_000_000;

function delivery(body: object, secret = 'hook-secret', timestamp = now) {
  const raw = JSON.stringify(body);
  const signature = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${raw}`).digest('hex')}`;
  return { headers: { 'x-webhook-timestamp': String(timestamp), 'x-webhook-signature': signature }, body: raw };
}

test('maps a signed ticket webhook to one canonical event keyed by the delivery id', () => {
  const [event] = toTicketEvents(delivery({ id: 'd-1', type: 'ticket.updated', occurredAt: now, ticket }), config, now);
  assert.equal(event?.id, 'd-1');
  assert.equal(event?.type, 'ticket.updated');
  assert.equal(event?.subject, 'TCK-100001');
  assert.equal((event?.data as { id: string }).id, 'TCK-100001');
  assert.equal(event?.time, new Date(now).toISOString());
});

test('refuses a bad signature, a stale timestamp, and any webhook when no secret is configured', () => {
  const body = { id: 'd-2', type: 'ticket.created', occurredAt: now, ticket };
  assert.throws(() => toTicketEvents(delivery(body, 'wrong'), config, now), UnauthorizedError);
  assert.throws(() => toTicketEvents(delivery(body, 'hook-secret', now - 600_000), config, now), UnauthorizedError);
  assert.throws(() => toTicketEvents(delivery(body), { ...config, webhookSecret: undefined } as never, now), UnauthorizedError);
});
