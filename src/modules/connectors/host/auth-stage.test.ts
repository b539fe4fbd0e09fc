import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { oauth2ClientCredentials } from '../../../sdk/auth/oauth2-client-credentials.ts';
import { createPools } from '../../../sdk/transport.ts';
import { runAuthStage } from './auth-stage.ts';

const AUTH_TIMEOUT_MS = 300;

test("fetches a new token long after the auth stage's deadline passed, with the client auth() kept", async () => {
  let issued = 0;
  // Tokens that expire at once: every token() after the first one fetches anew.
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `t${++issued}`, expires_in: 0 })));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const pools = createPools();
  try {
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let tokens: ReturnType<typeof oauth2ClientCredentials> | undefined;
    await runAuthStage({
      async auth({ http }) {
        tokens = oauth2ClientCredentials({ http, tokenPath: '/oauth/token', clientId: 'c', clientSecret: 's' });
        await tokens.token();
        return tokens;
      },
    }, { config: {}, log: pino({ level: 'silent' }), baseUrl, pools, timeoutMs: AUTH_TIMEOUT_MS });
    await once(AbortSignal.timeout(AUTH_TIMEOUT_MS), 'abort'); // the stage's deadline is behind us
    assert.equal(await tokens?.token(), 't2');
  } finally {
    pools.destroy();
    server.close();
  }
});

test('fails the stage when auth() does not finish within its deadline', async () => {
  const pools = createPools();
  try {
    const never = { auth: () => new Promise<never>(() => {}) };
    await assert.rejects(runAuthStage(never, { config: {}, log: pino({ level: 'silent' }), baseUrl: 'http://127.0.0.1:9', pools, timeoutMs: AUTH_TIMEOUT_MS }), { code: 'UPSTREAM_TIMEOUT' });
  } finally {
    pools.destroy();
  }
});
