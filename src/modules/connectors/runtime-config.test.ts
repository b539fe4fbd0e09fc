import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { createMemoryRecordStore } from '../../adapters/memory/memory-record-store.ts';
import { createConfigCipher } from '../../kernel/config-cipher.ts';
import { createLogger } from '../../kernel/logger.ts';
import { createAjv } from '../../kernel/schemas.ts';
import { createSecrets } from '../../kernel/secrets.ts';
import { resolveConnectorConfig } from './connector-config.ts';
import { createRuntimeConfigs, type StoredConfig } from './runtime-config.ts';

const schema = {
  type: 'object',
  required: ['baseUrl', 'apiToken'],
  additionalProperties: false,
  properties: { baseUrl: { type: 'string', format: 'uri' }, apiToken: { type: 'string', minLength: 1, 'x-secret': true }, pageSize: { type: 'integer', default: 50 } },
} as const;
const log = createLogger({ level: 'silent' });
const env = { CRM_TOKEN: 'token-from-env' } as Record<string, string>;
const configs = (key = randomBytes(32)) => createRuntimeConfigs({ records: createMemoryRecordStore(), cipher: createConfigCipher(key), readEnv: (name) => env[name], log });
const at = (fields: StoredConfig['fields']): StoredConfig => ({ fields, updatedAt: new Date().toISOString(), updatedBy: 'ops' });

describe('run-time connector config', () => {
  test('lays run-time fields over the env settings field by field, and says where each came from', () => {
    const store = configs();
    const overrides = store.resolve('crm', at({ baseUrl: { value: 'https://crm.example.com/api' }, apiToken: { fromEnv: 'CRM_TOKEN' } }));
    const { config, sources, problems } = resolveConnectorConfig(createAjv({ coerceTypes: true, useDefaults: true }), 'crm', schema, { CRM_BASE_URL: 'http://env.example.com', CRM_PAGE_SIZE: '10' }, overrides);
    assert.deepEqual(problems, []);
    assert.deepEqual(config, { baseUrl: 'https://crm.example.com/api', apiToken: 'token-from-env', pageSize: 10 });
    assert.deepEqual(sources, { baseUrl: 'runtime', apiToken: 'fromEnv:CRM_TOKEN', pageSize: 'env' });
  });

  test('a field the environment and the run-time config leave out takes the default', () => {
    const { sources } = resolveConnectorConfig(createAjv({ coerceTypes: true, useDefaults: true }), 'crm', schema, { CRM_BASE_URL: 'http://env.example.com', CRM_API_TOKEN: 'abcdef' }, { values: {}, sources: {} });
    assert.equal(sources.pageSize, 'default');
  });

  test('a referenced variable that is not set is named, never a value', () => {
    const overrides = configs().resolve('crm', at({ apiToken: { fromEnv: 'NOT_SET' } }));
    assert.deepEqual(overrides?.problems, ['apiToken: environment variable NOT_SET is not set on this node']);
    const { problems } = resolveConnectorConfig(createAjv({ coerceTypes: true, useDefaults: true }), 'crm', schema, { CRM_BASE_URL: 'http://env.example.com' }, overrides);
    assert.match(problems.join('; '), /NOT_SET is not set on this node; apiToken is missing \(set OMNIGATE_CONNECTOR_CRM_API_TOKEN, or PUT \/v1\/admin\/connectors\/crm\/config\)/);
  });

  test('a sealed secret opens on a node with the same key and is refused on one with another key or none', async () => {
    const key = randomBytes(32);
    const records = createMemoryRecordStore();
    const here = createRuntimeConfigs({ records, cipher: createConfigCipher(key), readEnv: () => undefined, log });
    await here.save('crm', at({ apiToken: here.seal('crm', 'apiToken', 's3cret-value') }));
    assert.ok(!JSON.stringify(here.stored('crm')).includes('s3cret'));

    const secrets = createSecrets();
    const sameKey = createRuntimeConfigs({ records, cipher: createConfigCipher(key), readEnv: () => undefined, log, secrets });
    await sameKey.load();
    assert.deepEqual(sameKey.resolve('crm')?.values, { apiToken: 's3cret-value' });
    assert.equal(secrets.scrub('token s3cret-value'), 'token [redacted]', 'an opened secret is scrubbed from then on');

    const otherKey = createRuntimeConfigs({ records, cipher: createConfigCipher(randomBytes(32)), readEnv: () => undefined, log });
    await otherKey.load();
    assert.match(otherKey.resolve('crm')?.problems?.[0] ?? '', /apiToken is stored encrypted and cannot be opened/);

    const noKey = createRuntimeConfigs({ records, readEnv: () => undefined, log });
    await noKey.load();
    assert.equal(noKey.canSeal, false);
    assert.match(noKey.resolve('crm')?.problems?.[0] ?? '', /no OMNIGATE_CONFIG_ENCRYPTION_KEY/);
  });

  test('a sealed secret copied to another connector is refused', async () => {
    const store = configs();
    const sealed = store.seal('crm', 'apiToken', 's3cret-value');
    assert.match(store.resolve('crm-second', at({ apiToken: sealed }))?.problems?.[0] ?? '', /cannot be opened/);
  });

  test('reads another node\'s change again, and drops a config removed there', async () => {
    const records = createMemoryRecordStore();
    const [one, two] = [0, 1].map(() => createRuntimeConfigs({ records, readEnv: () => undefined, log }));
    await one!.save('crm', at({ baseUrl: { value: 'https://a.example.com' } }));
    await two!.refresh('crm');
    assert.deepEqual(two!.resolve('crm')?.values, { baseUrl: 'https://a.example.com' });
    await one!.save('crm', undefined);
    await two!.refresh('crm');
    assert.equal(two!.resolve('crm'), undefined);
  });
});
