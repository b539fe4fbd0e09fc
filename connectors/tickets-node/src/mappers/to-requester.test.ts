import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BadUpstreamDataError } from 'omnigate/sdk';
import { createSchemaRegistry } from '../../../../src/kernel/schemas.ts';
import { toRequester } from './to-requester.ts';

const fixture = (name: string): { result: Record<string, unknown> } => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
const schemas = createSchemaRegistry(new URL('../../../../schemas', import.meta.url).pathname);

test('maps a recorded requesters.ensure result to a schema-valid canonical Requester', () => {
  const requester = toRequester(fixture('ensure-requester-reply.json').result);
  assert.equal(schemas.validatorFor('Requester')(requester), true);
  assert.deepEqual(requester, { id: 'u_3e1fa36e', email: 'Visitor.Fixture@example.org', created: true });
});

test('names the broken field when the tickets service sends garbage', () => {
  const garbage = { requesterId: 42, email: 12345, created: 'maybe' };
  assert.throws(() => toRequester(garbage, 'result'), (err: unknown) => err instanceof BadUpstreamDataError && err.field === 'result.requesterId');
  assert.throws(() => toRequester({ ...fixture('ensure-requester-reply.json').result, created: 'maybe' }, 'result'), (err: unknown) => err instanceof BadUpstreamDataError && err.field === 'result.created');
});

test('keeps requester fields the model has no place for in attributes', () => {
  const requester = toRequester({ ...fixture('ensure-requester-reply.json').result, locale: 'de-AT' });
  assert.deepEqual(requester.attributes, { locale: 'de-AT' });
  assert.equal(schemas.validatorFor('Requester')(requester), true);
});
