import { createHmac, timingSafeEqual } from 'node:crypto';
import { BadUpstreamDataError, UnauthorizedError, field, type CanonicalEvent, type WebhookDelivery } from 'omnigate/sdk';
import type { TicketsConfig } from '../config.ts';
import { toTicket } from '../mappers/to-ticket.ts';

const TYPES = new Set(['ticket.created', 'ticket.updated']);

/**
 * Checks a webhook of the tickets service (HMAC-SHA256 over "<timestamp>.<body>", within the
 * replay window) and maps it to one canonical event, its id the delivery id so that a retried
 * or duplicated delivery is recognised.
 */
export function toTicketEvents(delivery: WebhookDelivery, config: TicketsConfig, now = Date.now()): CanonicalEvent[] {
  if (!config.webhookSecret) throw new UnauthorizedError('tickets: no webhook secret is configured (OMNIGATE_CONNECTOR_TICKETS_NODE_WEBHOOK_SECRET)');
  const timestamp = delivery.headers['x-webhook-timestamp'] ?? '';
  const signature = delivery.headers['x-webhook-signature'] ?? '';
  const expected = `sha256=${createHmac('sha256', config.webhookSecret).update(`${timestamp}.${delivery.body}`).digest('hex')}`;
  const valid = signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
  if (!valid) throw new UnauthorizedError('tickets: the webhook signature does not match');
  if (!/^\d+$/.test(timestamp) || Math.abs(now - Number(timestamp)) > config.webhookToleranceMs) {
    throw new UnauthorizedError('tickets: the webhook timestamp is outside the replay window');
  }
  let body: unknown;
  try {
    body = JSON.parse(delivery.body);
  } catch (err) {
    throw new BadUpstreamDataError('(body)', 'tickets: the webhook body is not JSON', { cause: err });
  }
  const type = field<string>(body, 'type', 'string', { path: 'webhook' });
  if (!TYPES.has(type)) throw new BadUpstreamDataError('webhook.type', 'tickets: unknown webhook type');
  const ticket = toTicket(field(body, 'ticket', 'object', { path: 'webhook' }), 'webhook.ticket');
  const occurredAt = field<number>(body, 'occurredAt', 'number', { path: 'webhook' });
  return [{ id: field<string>(body, 'id', 'string', { path: 'webhook' }), type, subject: String(ticket.id), time: new Date(occurredAt).toISOString(), data: ticket }];
}
