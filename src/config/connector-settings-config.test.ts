import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { parseConnectorSettings } from './connector-settings-config.ts';

test('takes a 32-byte base64 key and reads referenced variables from the environment it was given', () => {
  const key = randomBytes(32);
  const { config } = parseConnectorSettings({ OMNIGATE_CONFIG_ENCRYPTION_KEY: key.toString('base64'), CRM_TOKEN: 'abc' });
  assert.deepEqual(config?.encryptionKey, key);
  assert.equal(config?.readEnv('CRM_TOKEN'), 'abc');
  assert.equal(config?.readEnv('NOT_SET'), undefined);
  assert.ok(!JSON.stringify(config).includes('abc'), 'the snapshot is never serialised');
});

test('without a key, literal secrets cannot be sealed: no key, no problem', () => {
  assert.equal(parseConnectorSettings({}).config?.encryptionKey, undefined);
});

test('refuses a key of the wrong length or not base64, naming the variable and never the value', () => {
  for (const value of [randomBytes(16).toString('base64'), 'not base64 at all!']) {
    const { problems } = parseConnectorSettings({ OMNIGATE_CONFIG_ENCRYPTION_KEY: value });
    assert.match(problems?.[0] ?? '', /OMNIGATE_CONFIG_ENCRYPTION_KEY must be 32 random bytes in base64/);
    assert.ok(!problems?.[0]?.includes(value));
  }
});
