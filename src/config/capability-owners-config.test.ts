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
