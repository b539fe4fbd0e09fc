import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '../../kernel/errors.ts';
import type { CapabilityDeclaration, ConnectorManifest } from '../../sdk/types.ts';
import type { CapabilityOwners } from './capability-routing.ts';
import { createSlots, type Slots } from './slots.ts';

const declaration = (name: string): CapabilityDeclaration => ({ name, kind: 'query', params: { type: 'object' }, result: 'customer' }) as unknown as CapabilityDeclaration;

/** A table where each connector is known (it failed its health check, so it is listed) with its manifest. */
function table(owners: CapabilityOwners, connectors: Record<string, readonly string[]>, system = 'crm'): Slots {
  const slots = createSlots(owners);
  for (const [name, capabilities] of Object.entries(connectors)) {
    const slot = slots.slotFor(name);
    slot.manifest = { name, version: '1.0.0', system, description: name, capabilities: capabilities.map(declaration), config: { type: 'object' } } as unknown as ConnectorManifest;
    slot.problem = { stage: 'health', message: 'backend down', at: new Date(0).toISOString() };
  }
  return slots;
}
const thrown = (work: () => unknown): AppError => {
  try {
    work();
  } catch (err) {
    assert.ok(err instanceof AppError);
    return err;
  }
  assert.fail('expected an AppError');
};

const BY_REGION = { by: 'region', routes: { eu: 'crm-eu', us: 'crm-us' }, default: 'crm-python' };
const CRMS = { 'crm-python': ['customer.get'], 'crm-eu': ['customer.get'], 'crm-us': ['customer.get'] };

describe('routing a capability by a param', () => {
  test("each call goes to its route's connector, an unknown or missing value to the default, and the param is named", () => {
    const slots = table({ 'customer.get': BY_REGION }, CRMS);
    assert.deepEqual([slots.resolve('customer.get', { region: 'eu' }).entry.name, slots.resolve('customer.get', { region: 'eu' }).by], ['crm-eu', 'region']);
    assert.equal(slots.resolve('customer.get', { region: 'us' }).entry.name, 'crm-us');
    assert.equal(slots.resolve('customer.get', { region: 'apac' }).entry.name, 'crm-python');
    assert.equal(slots.route('customer.get', {})?.name, 'crm-python');
    assert.equal(slots.route('customer.get')?.name, 'crm-python', 'without params: the default stands for the capability');
  });

  test('without a default, a call with no route is refused with NO_ROUTE; route() says undefined', () => {
    const slots = table({ 'customer.get': { by: 'region', routes: { eu: 'crm-eu', us: 'crm-us' } } }, CRMS);
    const error = thrown(() => slots.resolve('customer.get', { id: '1' }));
    assert.equal(error.code, 'NO_ROUTE');
    assert.deepEqual(error.extensions.known, ['eu', 'us']);
    assert.equal(slots.route('customer.get', { id: '1' }), undefined);
    assert.equal(slots.route('customer.get')?.name, 'crm-eu', 'without params: the first routed connector stands for it');
  });

  test('a route to a connector that is not loaded, or does not declare the capability, is CONNECTOR_UNAVAILABLE and a route problem', () => {
    const slots = table({ 'customer.get': { by: 'region', routes: { eu: 'crm-eu', us: 'crm-us', apac: 'tickets-node' } } }, { 'crm-eu': ['customer.get'], 'tickets-node': ['ticket.get'] });
    const missing = thrown(() => slots.resolve('customer.get', { region: 'us' }));
    assert.equal(missing.code, 'CONNECTOR_UNAVAILABLE');
    assert.match(missing.message, /customer\.get for region "us" goes to connector crm-us, which is not loaded/);
    assert.match(thrown(() => slots.resolve('customer.get', { region: 'apac' })).message, /tickets-node, which does not declare it/);
    assert.deepEqual(slots.sharedCapabilities(), [{
      capability: 'customer.get', connectors: ['crm-eu'], servedBy: 'crm-eu', routing: { by: 'region', routes: { eu: 'crm-eu', us: 'crm-us', apac: 'tickets-node' } },
      routeProblems: [{ route: 'us', connector: 'crm-us', reason: 'not_loaded' }, { route: 'apac', connector: 'tickets-node', reason: 'not_declared' }],
      ambiguous: false,
    }]);
  });

  test('a routed capability is shared but not ambiguous when every routed connector declares it; an unrouted one stays ambiguous', () => {
    const slots = table({ 'customer.get': BY_REGION }, { 'crm-python': ['customer.get', 'customer.list'], 'crm-eu': ['customer.get', 'customer.list'], 'crm-us': ['customer.get'] });
    assert.deepEqual(slots.sharedCapabilities(), [
      { capability: 'customer.get', connectors: ['crm-eu', 'crm-python', 'crm-us'], servedBy: 'crm-python', routing: BY_REGION, ambiguous: false },
      { capability: 'customer.list', connectors: ['crm-eu', 'crm-python'], servedBy: 'crm-python', ambiguous: true },
    ]);
  });

  test("a system's entry routes every capability of its connectors that has none of its own", () => {
    const slots = table({ 'system:crm': BY_REGION, 'customer.list': 'crm-us' }, { 'crm-python': ['customer.get', 'customer.list'], 'crm-eu': ['customer.get', 'customer.list'], 'crm-us': ['customer.get', 'customer.list'] });
    assert.equal(slots.resolve('customer.get', { region: 'eu' }).entry.name, 'crm-eu');
    assert.deepEqual(slots.resolve('customer.list', { region: 'eu' }), { entry: slots.get('crm-us') }, "the capability's own owner wins and routes nothing");
  });

  test('with no routing, calls go to the owner, else the first connector known; an undeclared capability is UNKNOWN_CAPABILITY', () => {
    const slots = table({ 'customer.get': 'crm-us' }, CRMS);
    assert.equal(slots.resolve('customer.get', { region: 'eu' }).entry.name, 'crm-us');
    assert.equal(thrown(() => slots.resolve('invoice.get', {})).code, 'UNKNOWN_CAPABILITY');
    assert.equal(slots.route('invoice.get', {}), undefined);
  });
});

describe('the connector reaching a system (the proxy)', () => {
  test("is the system's owner, or its routing's default, else the first connector of the system known", () => {
    const crms = { 'crm-python': ['customer.get'], 'crm-eu': ['customer.get'] };
    assert.equal(table({}, crms).bySystem('crm')?.name, 'crm-python');
    assert.equal(table({ 'system:crm': 'crm-eu' }, crms).bySystem('crm')?.name, 'crm-eu');
    assert.equal(table({ 'system:crm': { by: 'region', routes: { us: 'crm-python' }, default: 'crm-eu' } }, crms).bySystem('crm')?.name, 'crm-eu');
    assert.equal(table({ 'system:crm': 'crm-us' }, crms).bySystem('crm')?.name, 'crm-python', 'an owner that is not loaded decides nothing');
    assert.equal(table({}, crms).bySystem('orders'), undefined);
  });
});
