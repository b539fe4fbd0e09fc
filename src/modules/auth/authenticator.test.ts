import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SignJWT, UnsecuredJWT } from 'jose';
import { VISITOR_TOKEN_AUDIENCE, VISITOR_TOKEN_ISSUER } from '../../config/identity-config.ts';
import { createLogger } from '../../kernel/logger.ts';
import { mintAgentToken } from '../identity/dev-tokens.ts';
import { createAgentTokenVerifier } from './agent-tokens.ts';
import { createAuthenticator, type Authentication } from './authenticator.ts';
import { createVisitorTokens } from './visitor-tokens.ts';

const OLD = 'shop-old-key-0123456789';
const NEW = 'shop-new-key-0123456789';
const OPS = 'ops-admin-key-0123456789';
const SECRET = 'agent-secret-0123456789-0123456789';
const VISITOR_SECRET = 'visitor-secret-0123456789-0123456789';
const ISSUER = 'https://idp.example';
const AUDIENCE = 'omnigate';
const log = createLogger({ level: 'silent' });
const sites = new Set(['shop']);
const visitorTokens = createVisitorTokens({ secret: VISITOR_SECRET, ttlMs: 60_000, clockToleranceMs: 0, isSite: (s) => sites.has(s) });
const authenticator = createAuthenticator({
  apiKeys: [{ name: 'shop', key: OLD }, { name: 'shop', key: NEW }],
  adminKeys: [{ name: 'ops', key: OPS }],
  agentTokens: createAgentTokenVerifier({ config: { issuer: ISSUER, audience: AUDIENCE, secret: SECRET, roleClaim: 'role' }, clockToleranceMs: 0, log }),
  visitorTokens,
});
const bearer = (token: string) => authenticator.authenticate({ headers: { authorization: `Bearer ${token}` } });
const agentToken = (over: Partial<Parameters<typeof mintAgentToken>[0]> = {}) => mintAgentToken({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, sub: 'ada', role: 'agent', ttlMs: 60_000, ...over });
const refusal = (auth: Authentication) => (auth.outcome === 'invalid' ? auth.error.code : auth.outcome);

describe('keys', () => {
  test('resolves both keys of a rotated name to the same principal, from X-Api-Key or Bearer', async () => {
    const expected = { outcome: 'ok', principal: { kind: 'service', name: 'shop', roles: ['api'] } };
    assert.deepEqual(await authenticator.authenticate({ headers: { 'x-api-key': OLD } }), expected);
    assert.deepEqual(await bearer(NEW), expected);
  });

  test('gives an admin key the admin role only, and tells a missing key from an unknown one', async () => {
    assert.deepEqual(await authenticator.authenticate({ headers: { 'x-api-key': OPS } }), { outcome: 'ok', principal: { kind: 'service', name: 'ops', roles: ['admin'] } });
    assert.deepEqual(await authenticator.authenticate({ headers: {} }), { outcome: 'none' });
    assert.equal(refusal(await authenticator.authenticate({ headers: { 'x-api-key': 'not-a-known-key-at-all' } })), 'UNAUTHENTICATED');
  });
});

describe('agent tokens', () => {
  test('an agent token of the issuer and audience is the agent its subject names, expiring when the token does', async () => {
    const auth = await bearer(await agentToken());
    assert.equal(auth.outcome, 'ok');
    const p = auth.outcome === 'ok' ? auth.principal : undefined;
    assert.equal(p?.kind, 'agent');
    assert.deepEqual(p?.kind === 'agent' ? [p.name, p.agentId, p.roles] : [], ['agent:ada', 'ada', ['agent']]);
    assert.ok(p?.kind === 'agent' && p.expiresAt > Date.now() && p.expiresAt <= Date.now() + 61_000);
  });

  test('a supervisor token gives both roles; a token naming neither role is refused', async () => {
    const sup = await bearer(await agentToken({ role: 'supervisor' }));
    assert.deepEqual(sup.outcome === 'ok' ? sup.principal.roles : [], ['agent', 'supervisor']);
    const none = await bearer(await new SignJWT({ role: 'customer' }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('x').setExpirationTime('1m').sign(new TextEncoder().encode(SECRET)));
    assert.equal(refusal(none), 'UNAUTHENTICATED');
  });

  test('reads the role from a list claim at a dotted path, as identity providers nest them', async () => {
    const nested = createAgentTokenVerifier({ config: { issuer: ISSUER, audience: AUDIENCE, secret: SECRET, roleClaim: 'realm_access.roles' }, clockToleranceMs: 0, log });
    const token = await new SignJWT({ realm_access: { roles: ['offline', 'supervisor'] } }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('kim').setExpirationTime('1m').sign(new TextEncoder().encode(SECRET));
    assert.deepEqual((await nested.verify(token)).roles, ['agent', 'supervisor']);
  });

  test('an expired token is TOKEN_EXPIRED; a wrong issuer, audience or key is UNAUTHENTICATED', async () => {
    const expired = await new SignJWT({ role: 'agent' }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('ada').setExpirationTime(Math.floor(Date.now() / 1000) - 10).sign(new TextEncoder().encode(SECRET));
    assert.equal(refusal(await bearer(expired)), 'TOKEN_EXPIRED');
    assert.equal(refusal(await bearer(await agentToken({ issuer: 'https://other.example' }))), 'UNAUTHENTICATED');
    assert.equal(refusal(await bearer(await agentToken({ audience: 'someone-else' }))), 'UNAUTHENTICATED');
    assert.equal(refusal(await bearer(await agentToken({ secret: 'another-secret-0123456789-0123456789' }))), 'UNAUTHENTICATED');
  });

  test('refuses an unsigned token (alg none) and one signed with an algorithm not configured', async () => {
    const unsigned = new UnsecuredJWT({ role: 'supervisor' }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('mallory').setExpirationTime('1m').encode();
    assert.equal(refusal(await bearer(unsigned)), 'UNAUTHENTICATED');
    const hs512 = await new SignJWT({ role: 'agent' }).setProtectedHeader({ alg: 'HS512' }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('ada').setExpirationTime('1m').sign(new TextEncoder().encode(SECRET.repeat(2)));
    assert.equal(refusal(await bearer(hs512)), 'UNAUTHENTICATED');
  });

  test('without an agent issuer configured, agent tokens are refused', async () => {
    const keysOnly = createAuthenticator({ apiKeys: [{ name: 'shop', key: OLD }], adminKeys: [] });
    assert.equal(refusal(await keysOnly.authenticate({ headers: { authorization: `Bearer ${await agentToken()}` } })), 'UNAUTHENTICATED');
  });
});

describe('visitor tokens', () => {
  test("a visitor token is its visitor, of its site, with the customer only when it was proven", async () => {
    const { token, expiresAt } = await visitorTokens.issue({ visitorId: 'v1', site: 'shop', customerId: '42' });
    const auth = await bearer(token);
    assert.deepEqual(auth.outcome === 'ok' ? auth.principal : undefined, { kind: 'visitor', name: 'visitor:v1', visitorId: 'v1', site: 'shop', customerId: '42', roles: [], expiresAt });
    const anonymous = await bearer((await visitorTokens.issue({ visitorId: 'v2', site: 'shop' })).token);
    assert.equal(anonymous.outcome === 'ok' && anonymous.principal.kind === 'visitor' ? anonymous.principal.customerId : 'absent', undefined);
  });

  test('an expired visitor token is TOKEN_EXPIRED; one of a site without a widget key any more, or an agent-signed one posing as a visitor, is refused', async () => {
    const past = createVisitorTokens({ secret: VISITOR_SECRET, ttlMs: 1_000, clockToleranceMs: 0, isSite: () => true, now: () => Date.now() - 60_000 });
    assert.equal(refusal(await bearer((await past.issue({ visitorId: 'v', site: 'shop' })).token)), 'TOKEN_EXPIRED');
    assert.equal(refusal(await bearer((await visitorTokens.issue({ visitorId: 'v', site: 'gone' })).token)), 'UNAUTHENTICATED');
    const forged = await new SignJWT({ site: 'shop' }).setProtectedHeader({ alg: 'HS256' }).setIssuer(VISITOR_TOKEN_ISSUER).setAudience(VISITOR_TOKEN_AUDIENCE).setSubject('v').setExpirationTime('1m').sign(new TextEncoder().encode(SECRET));
    assert.equal(refusal(await bearer(forged)), 'UNAUTHENTICATED');
  });
});
