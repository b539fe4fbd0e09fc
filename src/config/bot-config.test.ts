import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { botSecrets, DEFAULT_BOT_WEBHOOK_TIMEOUT_MS, parseBotConfig } from './chat-config.ts';

describe('bot settings', () => {
  test('defaults: no webhook, the data folder resolved against the root, the job and memory timers', () => {
    const { config } = parseBotConfig({}, '/srv/omnigate');
    assert.deepEqual(config, { dataDir: '/srv/omnigate/config/bot', lockMs: 30_000, jobAttempts: 20, jobBackoffMs: 200, memoryTtlMs: 86_400_000 });
    assert.deepEqual(botSecrets(config!), []);
  });

  test('the webhook bot needs its URL and secret, each problem naming its variable; the secret is one to redact', () => {
    assert.deepEqual(parseBotConfig({ OMNIGATE_CHAT_BOT: 'webhook' }, '/').problems, [
      'OMNIGATE_BOT_WEBHOOK_URL is required with OMNIGATE_CHAT_BOT=webhook', 'OMNIGATE_BOT_WEBHOOK_SECRET is required with OMNIGATE_CHAT_BOT=webhook',
    ]);
    const bad = parseBotConfig({ OMNIGATE_CHAT_BOT: 'webhook', OMNIGATE_BOT_WEBHOOK_URL: 'ftp://bots', OMNIGATE_BOT_WEBHOOK_SECRET: 'short', OMNIGATE_BOT_WEBHOOK_TIMEOUT_MS: 'soon' }, '/').problems ?? [];
    assert.deepEqual(bad.map((p) => p.split(' ')[0]).sort(), ['OMNIGATE_BOT_WEBHOOK_SECRET', 'OMNIGATE_BOT_WEBHOOK_TIMEOUT_MS', 'OMNIGATE_BOT_WEBHOOK_URL']);
    const { config } = parseBotConfig({ OMNIGATE_CHAT_BOT: 'webhook', OMNIGATE_BOT_WEBHOOK_URL: 'https://bots.example/answer', OMNIGATE_BOT_WEBHOOK_SECRET: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=' }, '/');
    assert.deepEqual(config?.webhook, { url: 'https://bots.example/answer', secret: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=', timeoutMs: DEFAULT_BOT_WEBHOOK_TIMEOUT_MS });
    assert.deepEqual(botSecrets(config!), ['whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=']);
  });
});
