import { SignJWT } from 'jose';
import { connectWs, type WsTestClient } from './ws-client.ts';

/** Identity settings for a test gateway whose chat has visitors (one widget key) and agents (an HS256 issuer). */
export const CHAT_SITE = 'shop';
export const CHAT_ORIGIN = 'https://shop.example';
export const WIDGET_KEY = 'wk-shop-0123456789abcdef';
const AGENT_SECRET = 'agent-jwt-secret-0123456789abcdef0123';
const AGENT_ISSUER = 'https://idp.test';
const AGENT_AUDIENCE = 'omnigate';

export const CHAT_ENV: Readonly<Record<string, string>> = {
  OMNIGATE_WIDGET_KEYS: JSON.stringify([{ name: CHAT_SITE, key: WIDGET_KEY, origins: [CHAT_ORIGIN] }]),
  OMNIGATE_VISITOR_TOKEN_SECRET: 'visitor-token-secret-0123456789abcdef',
  OMNIGATE_AGENT_JWT_ISSUER: AGENT_ISSUER,
  OMNIGATE_AGENT_JWT_AUDIENCE: AGENT_AUDIENCE,
  OMNIGATE_AGENT_JWT_SECRET: AGENT_SECRET,
  // Every test opens sessions and starts conversations from 127.0.0.1: a test of these limits sets its own.
  OMNIGATE_WIDGET_SESSIONS_PER_IP: '100000', OMNIGATE_WIDGET_SESSIONS_PER_SITE: '100000',
  OMNIGATE_CONVERSATION_STARTS_PER_IP: '100000', OMNIGATE_CONVERSATION_STARTS_PER_SITE: '100000',
};

/** A visitor token from POST /v1/widget/sessions, as the widget gets one. */
export async function visitorSession(gateway: { readonly url: string }): Promise<{ token: string; visitorId: string }> {
  const reply = await fetch(`${gateway.url}/v1/widget/sessions`, { method: 'POST', headers: { 'x-widget-key': WIDGET_KEY, origin: CHAT_ORIGIN, 'content-type': 'application/json' }, body: '{}' });
  if (reply.status !== 201) throw new Error(`widget session: ${reply.status} ${await reply.text()}`);
  return (await reply.json()) as { token: string; visitorId: string };
}

/** An agent (or supervisor) JWT as the configured identity provider would sign it; `ttlMs` may be negative (expired). */
export async function agentToken(agentId: string, options: { role?: 'agent' | 'supervisor'; ttlMs?: number } = {}): Promise<string> {
  const nowS = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: options.role ?? 'agent' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(AGENT_ISSUER).setAudience(AGENT_AUDIENCE).setSubject(agentId)
    .setIssuedAt(nowS - 60).setExpirationTime(nowS + Math.round((options.ttlMs ?? 3_600_000) / 1000))
    .sign(new TextEncoder().encode(AGENT_SECRET));
}

/** Resolves once the socket got its `welcome`. */
export async function welcomed(client: WsTestClient): Promise<WsTestClient> {
  await client.waitFor('welcome', (f) => f.type === 'welcome');
  return client;
}

/** A visitor's socket as a browser opens it: token in the subprotocol list, from the site's origin; a new visitor unless `token` is given. */
export async function visitorSocket(gateway: { readonly url: string }, token?: string): Promise<WsTestClient & { token: string }> {
  const t = token ?? (await visitorSession(gateway)).token;
  const client = await welcomed(await connectWs(gateway.url, { protocols: ['omnigate.v1', `bearer.${t}`], headers: { origin: CHAT_ORIGIN } }));
  return Object.assign(client, { token: t });
}

/** An agent's (or supervisor's) socket with a JWT in Authorization. */
export async function agentSocket(gateway: { readonly url: string }, agentId: string, role: 'agent' | 'supervisor' = 'agent'): Promise<WsTestClient> {
  return welcomed(await connectWs(gateway.url, { token: await agentToken(agentId, { role }) }));
}
