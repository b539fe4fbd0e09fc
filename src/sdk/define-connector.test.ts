import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineConnector, isConnector } from './define-connector.ts';
import type { ConnectorDefinition, ConnectorManifest } from './types.ts';

const manifest: ConnectorManifest = {
  name: 'orders-test', version: '1.0.0', system: 'orders', description: 'test', configSchema: {},
  capabilities: [
    { name: 'order.get', kind: 'query', description: 'one order', params: {}, result: 'Order' },
    { name: 'ticket.create', kind: 'command', description: 'a ticket', params: {}, result: 'Ticket' },
  ],
};
const base: ConnectorDefinition<unknown> = {
  manifest,
  auth: async () => ({ authorize() {} }),
  health: async () => ({ ok: true }),
  queries: { 'order.get': async (params) => ({ got: params }) },
  commands: { 'ticket.create': async () => ({ created: true }) },
};

test('a complete definition becomes a connector whose operations run by capability', async () => {
  const connector = defineConnector(base);
  assert.equal(isConnector(connector), true);
  assert.equal(isConnector({ ...connector }), false, 'only what defineConnector made');
  assert.deepEqual(await connector.query('order.get', { id: '7' }, {} as never), { got: { id: '7' } });
  await assert.rejects(connector.query('order.list', {}, {} as never), /has no operation order.list/);
});

test('names every problem of a definition at once: a capability without operation, an undeclared operation, events without a source', () => {
  assert.throws(
    () => defineConnector({ ...base, manifest: { ...manifest, events: { types: ['order.shipped'] } }, queries: { 'order.list': async () => [] }, commands: {} }),
    (err: unknown) => {
      const message = (err as Error).message;
      return ['capability order.get (query) has no operation in queries', 'capability ticket.create (command) has no operation in commands', 'operation order.list is not declared', 'manifest.events.types needs webhook() or poll()'].every((p) => message.includes(p));
    },
  );
});

test('business keys are checked: path syntax (a.b, a[].b), lowercase kebab type, system name, no duplicates', () => {
  const withKeys = (businessKeys: unknown) => ({ ...base, manifest: { ...manifest, capabilities: [{ ...manifest.capabilities[0]!, businessKeys }, manifest.capabilities[1]!] } }) as ConnectorDefinition<unknown>;
  const good = defineConnector(withKeys([{ type: 'order', path: 'id' }, { type: 'product', path: 'lines[].sku' }, { type: 'customer', path: 'customer.ref', system: 'crm' }, { type: 'support-case', path: 'tags[]' }]));
  assert.equal(good.manifest.capabilities[0]?.businessKeys?.length, 4);
  assert.throws(
    () => defineConnector(withKeys([{ type: 'Order', path: 'id' }, { type: 'product', path: 'lines.[].sku' }, { type: 'order', path: 'a..b' }, { type: 'x', path: 'id', system: 'Orders' }, { type: 'order', path: 'id' }, { type: 'order', path: 'id' }])),
    (err: unknown) => {
      const message = (err as Error).message;
      return [
        'businessKeys[0].type must be lowercase kebab-case',
        'businessKeys[1].path must be dotted fields',
        'businessKeys[2].path must be dotted fields',
        'businessKeys[3].system must be a system name',
        'businessKeys[5] is declared twice',
      ].every((p) => message.includes(p)) && !message.includes('businessKeys[4]');
    },
  );
  assert.throws(() => defineConnector(withKeys({ type: 'order', path: 'id' })), /businessKeys must be an array/);
});
