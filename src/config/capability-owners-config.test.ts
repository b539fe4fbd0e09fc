import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from './config.ts';

const KEYS = { OMNIGATE_API_KEYS: 'alice:aaaaaaaaaaaaaaaa-1' };
const problemsOf = (owners: string): readonly string[] => {
  try {
    loadConfig({ ...KEYS, OMNIGATE_CAPABILITY_OWNERS: owners }, '/tmp');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('OMNIGATE_CAPABILITY_OWNERS', () => {
  test('reads capability → connector pairs; absent, there is no owner', () => {
    assert.deepEqual(loadConfig({ ...KEYS, OMNIGATE_CAPABILITY_OWNERS: '{"customer.get":"crm-python","order.list":"orders-eu"}' }, '/tmp').capabilityOwners, { 'customer.get': 'crm-python', 'order.list': 'orders-eu' });
    assert.deepEqual(loadConfig(KEYS, '/tmp').capabilityOwners, {});
  });

  test('refuses, at start and naming the variable, what is not JSON, not an object, or not names', () => {
    assert.match(problemsOf('customer.get=crm-python')[0] ?? '', /OMNIGATE_CAPABILITY_OWNERS must be JSON/);
    assert.match(problemsOf('["crm-python"]')[0] ?? '', /OMNIGATE_CAPABILITY_OWNERS must be a JSON object/);
    const problems = problemsOf('{"customer":"crm-python","customer.get":"CRM Python","order.get":3}');
    assert.equal(problems.length, 3);
    assert.match(problems[0] ?? '', /"customer" is not a capability name/);
    assert.match(problems[1] ?? '', /owner of customer\.get must be a connector name/);
    assert.match(problems[2] ?? '', /owner of order\.get must be a connector name/);
  });
});

describe('OMNIGATE_CAPABILITY_OWNERS routings by a param', () => {
  test('reads a routing (by, routes, default) and a system-wide entry beside plain owners', () => {
    const owners = loadConfig({
      ...KEYS,
      OMNIGATE_CAPABILITY_OWNERS: JSON.stringify({
        'customer.get': { by: 'region', routes: { eu: 'crm-eu', us: 'crm-us' }, default: 'crm-python' },
        'customer.list': { by: 'tenant', routes: { acme: 'crm-acme' } },
        'system:orders': 'orders-java',
      }),
    }, '/tmp').capabilityOwners;
    assert.deepEqual(owners, {
      'customer.get': { by: 'region', routes: { eu: 'crm-eu', us: 'crm-us' }, default: 'crm-python' },
      'customer.list': { by: 'tenant', routes: { acme: 'crm-acme' } },
      'system:orders': 'orders-java',
    });
    assert.ok(Object.isFrozen(owners['customer.get']), 'the routing is frozen with the rest');
  });

  test('refuses a routing without by or routes, with unknown fields, or naming what is not a connector, every problem at once', () => {
    const problems = problemsOf(JSON.stringify({
      'customer.get': { routes: { eu: 'crm-eu' } },
      'customer.list': { by: 'region', routes: {} },
      'order.get': { by: 'region', routes: { eu: 'Orders EU' }, default: 3 },
      'order.list': { by: 'region', routes: { eu: 'orders-eu' }, fallback: 'orders-java' },
      'system:': 'crm-python',
    }));
    assert.deepEqual(problems.map((p) => p.replace(/ \(.*$/, '')), [
      'OMNIGATE_CAPABILITY_OWNERS: the routing of customer.get needs "by": the name of the param that picks the route',
      'OMNIGATE_CAPABILITY_OWNERS: the routing of customer.list needs "routes": an object of param values to connector names',
      'OMNIGATE_CAPABILITY_OWNERS: the routing of order.get: the route "eu" must name a connector',
      'OMNIGATE_CAPABILITY_OWNERS: the routing of order.get: "default" must name a connector',
      'OMNIGATE_CAPABILITY_OWNERS: the routing of order.list has an unknown field "fallback"',
      'OMNIGATE_CAPABILITY_OWNERS: "system:" is not a capability name',
    ]);
  });
});
