import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '../../kernel/errors.ts';
import { chooseRoute, noRoute, routedConnectors, routesOf, ruleFor, type CapabilityRouting } from './capability-routing.ts';

const BY_REGION: CapabilityRouting = { by: 'region', routes: { eu: 'crm-eu', us: 'crm-us' }, default: 'crm-python' };
const NO_DEFAULT: CapabilityRouting = { by: 'region', routes: { eu: 'crm-eu', us: 'crm-us' } };

describe('choosing a route', () => {
  test("the param's value picks its route; a number counts as its text", () => {
    assert.deepEqual(chooseRoute(BY_REGION, { id: '1', region: 'eu' }), { connector: 'crm-eu', route: 'eu' });
    assert.deepEqual(chooseRoute(BY_REGION, { region: 'us' }), { connector: 'crm-us', route: 'us' });
    assert.deepEqual(chooseRoute({ by: 'tenant', routes: { 7: 'crm-seven' } }, { tenant: 7 }), { connector: 'crm-seven', route: '7' });
  });

  test('a value with no route, no value, or a value that is not text goes to the default', () => {
    assert.deepEqual(chooseRoute(BY_REGION, { region: 'apac' }), { connector: 'crm-python' });
    assert.deepEqual(chooseRoute(BY_REGION, {}), { connector: 'crm-python' });
    assert.deepEqual(chooseRoute(BY_REGION, { region: ['eu'] }), { connector: 'crm-python' });
    assert.deepEqual(chooseRoute(BY_REGION, { region: 'toString' }), { connector: 'crm-python' }, 'an inherited name is no route');
  });

  test('without a default, no route: NO_ROUTE names the capability, the param and the known values', () => {
    assert.equal(chooseRoute(NO_DEFAULT, {}), undefined);
    assert.equal(chooseRoute(NO_DEFAULT, { region: 'apac' }), undefined);
    const missing = noRoute('customer.get', NO_DEFAULT, {});
    assert.ok(missing instanceof AppError);
    assert.equal(missing.code, 'NO_ROUTE');
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.extensions, { capability: 'customer.get', param: 'region', known: ['eu', 'us'] });
    assert.match(missing.message, /customer\.get is routed by region and needs the param region: one of eu, us/);
    assert.match(noRoute('customer.get', NO_DEFAULT, { region: 'apac' }).message, /has no route for region "apac"/);
  });
});

describe('which rule applies', () => {
  const owners = { 'customer.get': BY_REGION, 'system:crm': 'crm-python', 'system:orders': NO_DEFAULT };
  test("a capability's own entry wins over its system's; else the first system of its connectors with one", () => {
    assert.equal(ruleFor(owners, 'customer.get', ['crm']), BY_REGION);
    assert.equal(ruleFor(owners, 'customer.list', ['crm']), 'crm-python');
    assert.equal(ruleFor(owners, 'order.get', ['tickets', 'orders', 'crm']), NO_DEFAULT);
    assert.equal(ruleFor(owners, 'ticket.get', ['tickets']), undefined);
  });

  test('the connectors a routing names: the default first, each once; its routes with the default last', () => {
    assert.deepEqual(routedConnectors({ by: 'region', routes: { eu: 'crm-eu', de: 'crm-eu', us: 'crm-us' }, default: 'crm-us' }), ['crm-us', 'crm-eu']);
    assert.deepEqual(routesOf(BY_REGION), [{ route: 'eu', connector: 'crm-eu' }, { route: 'us', connector: 'crm-us' }, { connector: 'crm-python' }]);
  });
});
