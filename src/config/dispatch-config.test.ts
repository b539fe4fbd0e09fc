import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from './config.ts';
import { DEFAULT_DISPATCH_OFFER_TIMEOUT_MS, parseDispatchConfig } from './dispatch-config.ts';

test('defaults to manual dispatch with the documented timers, frozen', () => {
  const { config } = parseDispatchConfig({}, '/srv');
  assert.deepEqual(config, {
    mode: 'manual', offerTimeoutMs: DEFAULT_DISPATCH_OFFER_TIMEOUT_MS, maxMisses: 3, sweepIntervalMs: 1_000, positionIntervalMs: 5_000,
    factsTimeoutMs: 1_500, factsCacheTtlMs: 60_000, factsLastKnownTtlMs: 7 * 24 * 3_600_000, scanDepth: 50, unconfirmedAfterMs: 5_000, recoverIntervalMs: 60_000, agentResyncIntervalMs: 60_000, faultKillAfterClaim: false,
  });
  assert.ok(Object.isFrozen(config));
});

test('reads routing with every timer in ms and resolves the rules file from the root', () => {
  const { config } = parseDispatchConfig({
    OMNIGATE_DISPATCH: 'routing', OMNIGATE_ROUTING_RULES_FILE: 'config/rules.json', OMNIGATE_DISPATCH_OFFER_TIMEOUT_MS: '400',
    OMNIGATE_DISPATCH_MAX_MISSES: '2', OMNIGATE_DISPATCH_SWEEP_INTERVAL_MS: '50', OMNIGATE_DISPATCH_POSITION_INTERVAL_MS: '100',
    OMNIGATE_DISPATCH_FACTS_TIMEOUT_MS: '300', OMNIGATE_DISPATCH_FACTS_CACHE_TTL_MS: '0', OMNIGATE_DISPATCH_FACTS_LAST_KNOWN_TTL_MS: '0', OMNIGATE_DISPATCH_SCAN_DEPTH: '10',
    OMNIGATE_DISPATCH_UNCONFIRMED_AFTER_MS: '200', OMNIGATE_DISPATCH_RECOVER_INTERVAL_MS: '1000', OMNIGATE_DISPATCH_AGENT_RESYNC_INTERVAL_MS: '0',
  }, '/srv');
  assert.deepEqual(config, {
    mode: 'routing', rulesFile: '/srv/config/rules.json', offerTimeoutMs: 400, maxMisses: 2, sweepIntervalMs: 50, positionIntervalMs: 100,
    factsTimeoutMs: 300, factsCacheTtlMs: 0, factsLastKnownTtlMs: 0, scanDepth: 10, unconfirmedAfterMs: 200, recoverIntervalMs: 1_000, agentResyncIntervalMs: 0, faultKillAfterClaim: false,
  });
});

test('the fault-injection hook is off unless OMNIGATE_FAULT_KILL_AFTER_CLAIM says true', () => {
  assert.equal(parseDispatchConfig({ OMNIGATE_DISPATCH: 'routing' }, '/srv').config?.faultKillAfterClaim, false);
  assert.equal(parseDispatchConfig({ OMNIGATE_FAULT_KILL_AFTER_CLAIM: 'true' }, '/srv').config?.faultKillAfterClaim, true);
  assert.match(parseDispatchConfig({ OMNIGATE_FAULT_KILL_AFTER_CLAIM: 'sometimes' }, '/srv').problems?.[0] ?? '', /^OMNIGATE_FAULT_KILL_AFTER_CLAIM /);
});

test('an empty variable counts as unset', () => {
  assert.equal(parseDispatchConfig({ OMNIGATE_DISPATCH: '', OMNIGATE_ROUTING_RULES_FILE: '' }, '/srv').config?.mode, 'manual');
  assert.equal(parseDispatchConfig({ OMNIGATE_ROUTING_RULES_FILE: '' }, '/srv').config?.rulesFile, undefined);
});

test('names every bad dispatch variable with the other problems of the configuration', () => {
  try {
    loadConfig({ OMNIGATE_API_KEYS: 'nope', OMNIGATE_DISPATCH: 'random', OMNIGATE_DISPATCH_OFFER_TIMEOUT_MS: 'soon', OMNIGATE_DISPATCH_MAX_MISSES: '0' }, '/tmp');
    assert.fail('expected a ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.problems.length, 4, err.problems.join('\n'));
    for (const name of ['OMNIGATE_API_KEYS', 'OMNIGATE_DISPATCH ', 'OMNIGATE_DISPATCH_OFFER_TIMEOUT_MS ', 'OMNIGATE_DISPATCH_MAX_MISSES ']) {
      assert.ok(err.problems.some((p) => p.startsWith(name)), `${name}: ${err.problems.join('\n')}`);
    }
  }
});

test('the loaded configuration carries the dispatch settings', () => {
  const config = loadConfig({ OMNIGATE_API_KEYS: 'alice:aaaaaaaaaaaaaaaa-1', OMNIGATE_DISPATCH: 'routing' }, '/tmp');
  assert.equal(config.dispatch.mode, 'routing');
});
