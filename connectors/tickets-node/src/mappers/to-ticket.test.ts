import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BadUpstreamDataError } from 'omnigate/sdk';
import { createSchemaRegistry } from '../../../../src/kernel/schemas.ts';
import { toTicket, toTicketPage } from './to-ticket.ts';

const fixture = (name: string): { result: Record<string, unknown> } => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
const schemas = createSchemaRegistry(new URL('../../../../schemas', import.meta.url).pathname);

test('maps a recorded JSON-RPC ticket to a schema-valid canonical Ticket', () => {
  const ticket = toTicket(fixture('get-reply.json').result);
  assert.equal(schemas.validatorFor('Ticket')(ticket), true);
  assert.equal(ticket.id, 'TCK-100001');
});

test('turns epoch milliseconds into RFC 3339 UTC and derives isOpen from the status', () => {
  const raw = { ...fixture('get-reply.json').result, createdAt: 0, updatedAt: 1_700_000_000_000, status: 'pending' };
  const ticket = toTicket(raw);
  assert.equal(ticket.createdAt, '1970-01-01T00:00:00.000Z');
  assert.equal(ticket.updatedAt, '2023-11-14T22:13:20.000Z');
  assert.equal(ticket.isOpen, true);
  assert.equal(toTicket({ ...raw, status: 'solved' }).isOpen, false);
});

test('names the broken field when the tickets service sends garbage', () => {
  const raw = fixture('get-reply.json').result;
  assert.throws(() => toTicket({ ...raw, status: 42 }), (err: unknown) => err instanceof BadUpstreamDataError && err.field === 'ticket.status');
  assert.throws(() => toTicket({ ...raw, createdAt: 'soon' }), (err: unknown) => err instanceof BadUpstreamDataError && err.field === 'ticket.createdAt');
});

test('maps a recorded search result to a cursor page', () => {
  const page = toTicketPage(fixture('search-reply.json').result, 2) as { items: unknown[]; page: { hasMore: boolean; nextCursor?: string } };
  assert.equal(schemas.validatorFor('Page<Ticket>')(page), true);
  assert.equal(page.items.length <= 2, true);
  assert.equal(page.page.hasMore, page.page.nextCursor !== undefined);
});

test('keeps what the source said: sourceStatus and sourceChannel; a status or channel it has no canonical name for is `other`', () => {
  const raw = fixture('get-reply.json').result;
  const known = toTicket({ ...raw, status: 'pending', channel: 'chat' });
  assert.equal(known.sourceStatus, 'pending');
  assert.equal(known.sourceChannel, 'chat');
  const odd = toTicket({ ...raw, status: 'on-hold', channel: 'whatsapp' });
  assert.equal(odd.status, 'other');
  assert.equal(odd.sourceStatus, 'on-hold');
  assert.equal(odd.channel, 'other');
  assert.equal(odd.sourceChannel, 'whatsapp');
  assert.equal(odd.isOpen, true, 'a status nobody mapped is not hidden from agents');
  assert.equal(schemas.validatorFor('Ticket')(odd), true);
});

test('a ticket without a channel says `other` with no sourceChannel: unknown, not invented', () => {
  const { channel: _dropped, ...raw } = fixture('get-reply.json').result;
  const ticket = toTicket(raw);
  assert.equal(ticket.channel, 'other');
  assert.equal('sourceChannel' in ticket, false);
  assert.equal(schemas.validatorFor('Ticket')(ticket), true);
});

test('keeps ticket fields the model has no place for in attributes; the recorded ticket has none', () => {
  const raw = fixture('get-reply.json').result;
  assert.equal('attributes' in toTicket(raw), false);
  const ticket = toTicket({ ...raw, assignee: 'agent-7', slaBreached: true });
  assert.deepEqual(ticket.attributes, { assignee: 'agent-7', slaBreached: true });
  assert.equal(schemas.validatorFor('Ticket')(ticket), true);
});
