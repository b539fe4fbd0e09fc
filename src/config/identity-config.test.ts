import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from './config.ts';

const BASE = { OMNIGATE_API_KEYS: 'shop:shop-key-0123456789abcdef' };
const SECRET = 'x'.repeat(32);
const WIDGETS = JSON.stringify([{ name: 'shop', key: 'wk_shop_0123456789abcdef', origins: ['https://shop.example'], identitySecret: 'shop-identity-0123456789' }]);

const problemsOf = (env: Record<string, string>): readonly string[] => {
  try {
    loadConfig({ ...BASE, ...env }, '/tmp');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

test('reads agent JWT, widget keys and agents from the environment, frozen', () => {
  const { identity } = loadConfig({
    ...BASE, OMNIGATE_AGENT_JWT_ISSUER: 'https://idp.example', OMNIGATE_AGENT_JWT_SECRET: SECRET, OMNIGATE_VISITOR_TOKEN_SECRET: 'v'.repeat(32), OMNIGATE_WIDGET_KEYS: WIDGETS,
    OMNIGATE_AGENTS: JSON.stringify([{ id: 'ada', skills: ['billing'], languages: ['en'], groups: ['support'], maxConcurrent: 3 }]),
  }, '/tmp');
  assert.deepEqual(identity.agentJwt, { issuer: 'https://idp.example', audience: 'omnigate', roleClaim: 'role', secret: SECRET });
  assert.equal(identity.widgetKeys[0]?.origins[0], 'https://shop.example');
  assert.equal(identity.agents[0]?.maxConcurrent, 3);
  assert.ok(Object.isFrozen(identity) && Object.isFrozen(identity.widgetKeys[0]));
});

test('lists every identity problem at once, each naming its variable and never a secret', () => {
  const problems = problemsOf({
    OMNIGATE_AGENT_JWT_SECRET: SECRET, OMNIGATE_AGENT_JWKS_URL: 'https://idp.example/jwks', OMNIGATE_WIDGET_KEYS: WIDGETS,
    OMNIGATE_AGENTS: JSON.stringify([{ id: 'ada', skills: [], languages: ['english'], groups: [], maxConcurrent: 0 }]),
  });
  assert.ok(problems.some((p) => /OMNIGATE_AGENT_JWT_SECRET and OMNIGATE_AGENT_JWKS_URL are both set/.test(p)), problems.join('\n'));
  assert.ok(problems.some((p) => /OMNIGATE_AGENT_JWT_ISSUER is required/.test(p)));
  assert.ok(problems.some((p) => /OMNIGATE_VISITOR_TOKEN_SECRET is required with OMNIGATE_WIDGET_KEYS/.test(p)));
  assert.ok(problems.some((p) => /^OMNIGATE_AGENTS\[0\]\.languages\[0\] must match pattern/.test(p)));
  assert.ok(problems.some((p) => /^OMNIGATE_AGENTS\[0\]\.maxConcurrent must be >= 1/.test(p)));
  assert.ok(!problems.some((p) => p.includes(SECRET) || p.includes('shop-identity-0123456789')));
});

test('refuses a short secret, widget keys that are not JSON, an origin with a path and a missing agents file', () => {
  assert.match(problemsOf({ OMNIGATE_VISITOR_TOKEN_SECRET: 'short' })[0] ?? '', /OMNIGATE_VISITOR_TOKEN_SECRET must be at least 32 characters/);
  assert.match(problemsOf({ OMNIGATE_VISITOR_TOKEN_SECRET: SECRET, OMNIGATE_WIDGET_KEYS: '[{oops' })[0] ?? '', /OMNIGATE_WIDGET_KEYS must be JSON/);
  const withPath = JSON.stringify([{ name: 'shop', key: 'wk_shop_0123456789abcdef', origins: ['https://shop.example/chat'] }]);
  assert.match(problemsOf({ OMNIGATE_VISITOR_TOKEN_SECRET: SECRET, OMNIGATE_WIDGET_KEYS: withPath })[0] ?? '', /OMNIGATE_WIDGET_KEYS\[0\]\.origins\[0\] must match pattern/);
  assert.match(problemsOf({ OMNIGATE_AGENTS_FILE: 'no/such/agents.json' })[0] ?? '', /OMNIGATE_AGENTS_FILE cannot be read \(ENOENT/);
});
