import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createRedis } from '../../src/adapters/redis/redis-client.ts';
import { createRedisTicketStore } from '../../src/adapters/redis/redis-ticket-store.ts';
import { createLogger } from '../../src/kernel/logger.ts';
import { createWsTickets } from '../../src/modules/auth/ws-tickets.ts';
import { mintAgentToken } from '../../src/modules/identity/dev-tokens.ts';
import { customerHmac } from '../../src/modules/identity/widget-keys.ts';
import { API_KEY, perTestGateways, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { freePort, TEST_REDIS_URL } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

// Names unique to this run: the directory, visitor links and rate-limit counts live in the shared Redis.
const RUN = `${process.pid}-${Date.now().toString(36)}`;
const SITE = `shop-${RUN}`;
const OTHER_SITE = `blog-${RUN}`;
const WIDGET_KEY = `wk_shop_${RUN.replace(/[^A-Za-z0-9]/g, '')}_0123456789`;
const OTHER_KEY = `wk_blog_${RUN.replace(/[^A-Za-z0-9]/g, '')}_0123456789`;
const SHOP_ORIGIN = 'https://shop.example';
const BLOG_ORIGIN = 'https://blog.example';
const IDENTITY_SECRET = 'shop-identity-secret-0123456789';
const AGENT_SECRET = 'agent-secret-for-tests-0123456789-abcdef';
const ISSUER = 'https://idp.test';
const AUDIENCE = 'omnigate-test';
const ADMIN_KEY = 'ops-admin-key-0123456789abcdef';
const SEEDED = `ada-${RUN}`;
// A client address of this run's own in 127.0.0.0/8, so per-address counts of earlier runs do not meet it.
const octet = () => 2 + Math.floor(Math.random() * 250);
const address = (): string => `127.${octet()}.${octet()}.${octet()}`;

const widgetKeys = (over: { key?: string; name?: string } = {}) => JSON.stringify([
  { name: over.name ?? SITE, key: over.key ?? WIDGET_KEY, origins: [SHOP_ORIGIN, 'http://localhost:3000'], identitySecret: IDENTITY_SECRET },
  { name: OTHER_SITE, key: OTHER_KEY, origins: [BLOG_ORIGIN] },
]);
const identityEnv = (over: Record<string, string> = {}): Record<string, string> => ({
  OMNIGATE_ADMIN_KEYS: `ops:${ADMIN_KEY}`,
  OMNIGATE_AGENT_JWT_ISSUER: ISSUER, OMNIGATE_AGENT_JWT_AUDIENCE: AUDIENCE, OMNIGATE_AGENT_JWT_SECRET: AGENT_SECRET, OMNIGATE_JWT_CLOCK_TOLERANCE_MS: '0',
  OMNIGATE_VISITOR_TOKEN_SECRET: 'visitor-secret-for-tests-0123456789-abcdef',
  OMNIGATE_WIDGET_KEYS: widgetKeys(),
  OMNIGATE_AGENTS: JSON.stringify([{ id: SEEDED, displayName: 'Ada', skills: ['billing'], languages: ['en', 'de'], groups: ['support'], maxConcurrent: 4 }]),
  OMNIGATE_WIDGET_SESSIONS_PER_IP: '1000', OMNIGATE_WIDGET_SESSIONS_PER_SITE: '1000',
  ...over,
});

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Record<string, unknown>;
}

/** One HTTP request, from a chosen local address when given (fetch cannot choose it). */
function call(base: string, method: string, path: string, options: { headers?: Record<string, string>; body?: unknown; localAddress?: string } = {}): Promise<Answer> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, {
      method,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const openSession = (gw: TestGateway, body: Record<string, unknown> = {}, headers: Record<string, string> = {}, localAddress?: string) =>
  call(gw.url, 'POST', '/v1/widget/sessions', { headers: { 'x-widget-key': WIDGET_KEY, ...headers }, body, ...(localAddress ? { localAddress } : {}) });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const agentToken = (over: Partial<Parameters<typeof mintAgentToken>[0]> = {}) =>
  mintAgentToken({ secret: AGENT_SECRET, issuer: ISSUER, audience: AUDIENCE, sub: SEEDED, role: 'agent', ttlMs: 60_000, ...over });

/** Redeems a ticket the gateway issued, as the WebSocket upgrade does (same Redis, same module). */
async function redeemer(): Promise<{ redeem(ticket: string): Promise<unknown>; close(): Promise<void> }> {
  const redis = createRedis(TEST_REDIS_URL, createLogger({ level: 'silent' }), { whenLost: 'test' });
  await waitFor('the test Redis', () => redis.isUp());
  const tickets = createWsTickets({ store: createRedisTicketStore(redis), ttlMs: 30_000 });
  return { redeem: (ticket) => tickets.redeem(ticket), close: () => redis.close() };
}

describe('identity against a running gateway', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway(identityEnv());
  });
  after(() => gw.stop());

  test('a widget session without identity proof is an anonymous visitor whose token opens the chat API only', async () => {
    const session = await openSession(gw, {}, { origin: SHOP_ORIGIN });
    assert.equal(session.status, 201, JSON.stringify(session.body));
    assert.equal(session.body.site, SITE);
    assert.equal(session.body.customerId, undefined);
    assert.equal(session.body.resumed, false);
    assert.ok(Date.parse(String(session.body.expiresAt)) > Date.now());
    const token = String(session.body.token);
    const ticket = await call(gw.url, 'POST', '/v1/ws/tickets', { headers: bearer(token) });
    assert.equal(ticket.status, 201);
    assert.match(String(ticket.body.ticket), /^[A-Za-z0-9_-]{43}$/);
    const service = await call(gw.url, 'GET', '/v1/customers/42', { headers: bearer(token) });
    assert.equal(service.status, 403);
    assert.equal(service.body.code, 'FORBIDDEN');
  });

  test('a verified customer id links the visitor to the customer-master record, and a resumed session keeps visitor and link', async () => {
    const session = await openSession(gw, { customerId: '42', customerHmac: customerHmac(IDENTITY_SECRET, '42') });
    assert.equal(session.status, 201, JSON.stringify(session.body));
    assert.equal(session.body.customerId, '42');
    const resumed = await openSession(gw, { previousToken: session.body.token });
    assert.equal(resumed.status, 201);
    assert.deepEqual([resumed.body.visitorId, resumed.body.customerId, resumed.body.resumed], [session.body.visitorId, '42', true]);
    // Another customer proven in the same browser is another visitor, never a merge.
    const other = await openSession(gw, { previousToken: resumed.body.token, customerId: '43', customerHmac: customerHmac(IDENTITY_SECRET, '43') });
    assert.notEqual(other.body.visitorId, session.body.visitorId);
    assert.deepEqual([other.body.customerId, other.body.resumed], ['43', false]);
  });

  test('a forged or mismatched HMAC, and a customer the customer master does not know, are IDENTITY_NOT_VERIFIED', async () => {
    const forged = await openSession(gw, { customerId: '42', customerHmac: customerHmac('a-guessed-secret-0123456789', '42') });
    assert.deepEqual([forged.status, forged.body.code], [403, 'IDENTITY_NOT_VERIFIED']);
    const swapped = await openSession(gw, { customerId: '43', customerHmac: customerHmac(IDENTITY_SECRET, '42') });
    assert.deepEqual([swapped.status, swapped.body.code], [403, 'IDENTITY_NOT_VERIFIED']);
    const unknown = await openSession(gw, { customerId: '99999999', customerHmac: customerHmac(IDENTITY_SECRET, '99999999') });
    assert.deepEqual([unknown.status, unknown.body.code], [403, 'IDENTITY_NOT_VERIFIED']);
    // The other site has no identity secret: it cannot vouch for anyone.
    const unverifiable = await call(gw.url, 'POST', '/v1/widget/sessions', { headers: { 'x-widget-key': OTHER_KEY }, body: { customerId: '42', customerHmac: customerHmac(IDENTITY_SECRET, '42') } });
    assert.deepEqual([unverifiable.status, unverifiable.body.code], [403, 'IDENTITY_NOT_VERIFIED']);
    const half = await openSession(gw, { customerId: '42' });
    assert.deepEqual([half.status, half.body.code], [400, 'VALIDATION_FAILED']);
  });

  test('an unknown widget key is 401; a previous token of another site or signed by someone else is refused', async () => {
    const unknown = await call(gw.url, 'POST', '/v1/widget/sessions', { headers: { 'x-widget-key': 'wk_not_a_key_0123456789' }, body: {} });
    assert.deepEqual([unknown.status, unknown.body.code], [401, 'UNAUTHENTICATED']);
    const none = await call(gw.url, 'POST', '/v1/widget/sessions', { body: {} });
    assert.equal(none.status, 401);
    // The body is optional: a widget with nothing to prove sends none.
    assert.equal((await call(gw.url, 'POST', '/v1/widget/sessions', { headers: { 'x-widget-key': WIDGET_KEY } })).status, 201);
    const blog = await call(gw.url, 'POST', '/v1/widget/sessions', { headers: { 'x-widget-key': OTHER_KEY }, body: {} });
    const crossSite = await openSession(gw, { previousToken: blog.body.token });
    assert.deepEqual([crossSite.status, crossSite.body.code], [401, 'UNAUTHENTICATED']);
    const agentAsVisitor = await openSession(gw, { previousToken: await agentToken() });
    assert.equal(agentAsVisitor.status, 401);
  });

  test("CORS: an allowed origin's preflight and request get the headers; another origin is ORIGIN_NOT_ALLOWED", async () => {
    const preflight = await call(gw.url, 'OPTIONS', '/v1/widget/sessions', { headers: { origin: SHOP_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-widget-key' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], SHOP_ORIGIN);
    assert.match(String(preflight.headers['access-control-allow-headers']), /x-widget-key/);
    assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);
    const ticketPreflight = await call(gw.url, 'OPTIONS', '/v1/ws/tickets', { headers: { origin: SHOP_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } });
    assert.equal(ticketPreflight.status, 204);
    assert.equal(ticketPreflight.headers['access-control-allow-origin'], SHOP_ORIGIN);

    const denied = await call(gw.url, 'OPTIONS', '/v1/widget/sessions', { headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.deepEqual([denied.status, denied.body.code, denied.headers['access-control-allow-origin']], [403, 'ORIGIN_NOT_ALLOWED', undefined]);

    const allowed = await openSession(gw, {}, { origin: SHOP_ORIGIN });
    assert.equal(allowed.headers['access-control-allow-origin'], SHOP_ORIGIN);
    // Allowed for the blog's key, not for the shop's: the session is refused.
    const wrongSite = await openSession(gw, {}, { origin: BLOG_ORIGIN });
    assert.deepEqual([wrongSite.status, wrongSite.body.code], [403, 'ORIGIN_NOT_ALLOWED']);
    const evil = await openSession(gw, {}, { origin: 'https://evil.example' });
    assert.deepEqual([evil.status, evil.body.code], [403, 'ORIGIN_NOT_ALLOWED']);
    // A visitor token used from a page of another site.
    const ticket = await call(gw.url, 'POST', '/v1/ws/tickets', { headers: { ...bearer(String(allowed.body.token)), origin: BLOG_ORIGIN } });
    assert.deepEqual([ticket.status, ticket.body.code], [403, 'ORIGIN_NOT_ALLOWED']);
  });

  test('an agent JWT from the shared secret opens the chat API and is refused on service endpoints; an expired one is TOKEN_EXPIRED', async () => {
    const token = await agentToken();
    assert.equal((await call(gw.url, 'POST', '/v1/ws/tickets', { headers: bearer(token) })).status, 201);
    const service = await call(gw.url, 'GET', '/v1/connectors', { headers: bearer(token) });
    assert.deepEqual([service.status, service.body.code], [403, 'FORBIDDEN']);
    const admin = await call(gw.url, 'GET', '/v1/admin/agents', { headers: bearer(await agentToken({ role: 'supervisor' })) });
    assert.deepEqual([admin.status, admin.body.code], [403, 'FORBIDDEN']);
    const expired = await new SignJWT({ role: 'agent' }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject(SEEDED)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 5).sign(new TextEncoder().encode(AGENT_SECRET));
    const refused = await call(gw.url, 'POST', '/v1/ws/tickets', { headers: bearer(expired) });
    assert.deepEqual([refused.status, refused.body.code], [401, 'TOKEN_EXPIRED']);
    const wrongAudience = await call(gw.url, 'POST', '/v1/ws/tickets', { headers: bearer(await agentToken({ audience: 'another-app' })) });
    assert.deepEqual([wrongAudience.status, wrongAudience.body.code], [401, 'UNAUTHENTICATED']);
    // Services keep their keys on the chat API; an admin key does not open it.
    assert.equal((await call(gw.url, 'POST', '/v1/ws/tickets', { headers: { 'x-api-key': API_KEY } })).status, 201);
    assert.equal((await call(gw.url, 'POST', '/v1/ws/tickets', { headers: { 'x-api-key': ADMIN_KEY } })).status, 401);
  });

  test('a WebSocket ticket carries the principal with its role, and opens one upgrade only', async () => {
    const issued = await call(gw.url, 'POST', '/v1/ws/tickets', { headers: bearer(await agentToken({ role: 'supervisor' })) });
    assert.equal(issued.status, 201);
    const redis = await redeemer();
    try {
      const principal = (await redis.redeem(String(issued.body.ticket))) as { kind: string; agentId: string; roles: string[] };
      assert.deepEqual([principal.kind, principal.agentId, principal.roles], ['agent', SEEDED, ['agent', 'supervisor']]);
      await assert.rejects(redis.redeem(String(issued.body.ticket)), { code: 'UNAUTHENTICATED' });
    } finally {
      await redis.close();
    }
  });

  test('the agent directory: seeded from config, listed, created, replaced, removed through the admin API', async () => {
    const admin = { 'x-api-key': ADMIN_KEY };
    // Seeding waits for Redis, which the gateway may still be connecting to when it listens.
    const seeded = await waitFor('the seeded agent', async () => {
      const answer = await call(gw.url, 'GET', `/v1/admin/agents/${SEEDED}`, { headers: admin });
      return answer.status === 200 && answer;
    });
    assert.deepEqual(seeded.body, { id: SEEDED, displayName: 'Ada', skills: ['billing'], languages: ['en', 'de'], groups: ['support'], maxConcurrent: 4 });
    const id = `bob-${RUN}`;
    const created = await call(gw.url, 'PUT', `/v1/admin/agents/${id}`, { headers: admin, body: { skills: ['returns'], languages: ['fr'], groups: ['vip'], maxConcurrent: 2 } });
    assert.equal(created.status, 201);
    const replaced = await call(gw.url, 'PUT', `/v1/admin/agents/${id}`, { headers: admin, body: { skills: [], languages: ['fr'], groups: ['support'], maxConcurrent: 5 } });
    assert.deepEqual([replaced.status, replaced.body.maxConcurrent, replaced.body.groups], [200, 5, ['support']]);
    const ids = ((await call(gw.url, 'GET', '/v1/admin/agents', { headers: admin })).body.agents as { id: string }[]).map((a) => a.id);
    assert.ok(ids.includes(SEEDED) && ids.includes(id));
    const invalid = await call(gw.url, 'PUT', `/v1/admin/agents/${id}`, { headers: admin, body: { skills: [], languages: ['fr'], groups: [], maxConcurrent: 0 } });
    assert.deepEqual([invalid.status, invalid.body.code], [400, 'VALIDATION_FAILED']);
    assert.equal((await call(gw.url, 'GET', '/v1/admin/agents', { headers: { 'x-api-key': API_KEY } })).status, 403);
    assert.equal((await call(gw.url, 'DELETE', `/v1/admin/agents/${id}`, { headers: admin })).status, 204);
    assert.equal((await call(gw.url, 'GET', `/v1/admin/agents/${id}`, { headers: admin })).status, 404);
    assert.equal((await call(gw.url, 'DELETE', `/v1/admin/agents/${id}`, { headers: admin })).status, 404);
  });

  test('the identity secrets never reach the logs', () => {
    const text = JSON.stringify(gw.logs);
    for (const secret of [AGENT_SECRET, IDENTITY_SECRET, 'visitor-secret-for-tests-0123456789-abcdef']) assert.ok(!text.includes(secret));
  });
});

describe('limits and key sources', () => {
  const { gateway } = perTestGateways();

  test('widget sessions are limited per client address and per site', async () => {
    const site = `limited-${RUN}`;
    const key = `wk_limited_${RUN.replace(/[^A-Za-z0-9]/g, '')}_01234`;
    const gw = await gateway(identityEnv({
      OMNIGATE_WIDGET_KEYS: widgetKeys({ name: site, key }), OMNIGATE_WIDGET_SESSIONS_PER_IP: '2', OMNIGATE_WIDGET_SESSIONS_PER_SITE: '3',
      // A day-long window: the counts cannot roll over within the test.
      OMNIGATE_VISITOR_LIMIT_WINDOW_MS: '86400000',
    }));
    const open = (from: string) => call(gw.url, 'POST', '/v1/widget/sessions', { headers: { 'x-widget-key': key }, body: {}, localAddress: from });
    const first = address();
    assert.deepEqual([(await open(first)).status, (await open(first)).status], [201, 201]);
    const perIp = await open(first);
    assert.deepEqual([perIp.status, perIp.body.code, perIp.body.scope], [429, 'RATE_LIMITED', 'per-ip']);
    assert.ok(Number(perIp.headers['retry-after']) >= 1);
    // Another address still gets one: the site's third. The site's fourth is refused from anywhere.
    assert.equal((await open(address())).status, 201);
    const perSite = await open(address());
    assert.deepEqual([perSite.status, perSite.body.code, perSite.body.scope], [429, 'RATE_LIMITED', 'per-site']);
    // Another site is not limited by this one.
    assert.equal((await call(gw.url, 'POST', '/v1/widget/sessions', { headers: { 'x-widget-key': OTHER_KEY }, body: {}, localAddress: address() })).status, 201);
  });

  test("agent JWTs signed by an identity provider's key, found in its JWKS", async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
    const port = await freePort();
    const idp: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks)));
    await new Promise<void>((resolve) => idp.listen(port, '127.0.0.1', resolve));
    try {
      const gw = await gateway(identityEnv({ OMNIGATE_AGENT_JWT_SECRET: '', OMNIGATE_AGENT_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`, OMNIGATE_AGENT_ROLE_CLAIM: 'realm_access.roles' }));
      const sign = (claims: Record<string, unknown>, key = privateKey) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('kim').setExpirationTime('5m').sign(key);
      const supervisor = await call(gw.url, 'POST', '/v1/ws/tickets', { headers: bearer(await sign({ realm_access: { roles: ['supervisor'] } })) });
      assert.equal(supervisor.status, 201, JSON.stringify(supervisor.body));
      const redis = await redeemer();
      try {
        assert.deepEqual(((await redis.redeem(String(supervisor.body.ticket))) as { roles: string[] }).roles, ['agent', 'supervisor']);
      } finally {
        await redis.close();
      }
      const stranger = (await generateKeyPair('RS256')).privateKey;
      assert.equal((await call(gw.url, 'POST', '/v1/ws/tickets', { headers: bearer(await sign({ realm_access: { roles: ['agent'] } }, stranger)) })).status, 401);
      // The shared-secret kind is not accepted once the key set is the source.
      assert.equal((await call(gw.url, 'POST', '/v1/ws/tickets', { headers: bearer(await agentToken()) })).status, 401);
    } finally {
      await new Promise((resolve) => idp.close(resolve));
    }
  });
});
