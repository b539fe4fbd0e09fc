import { mintAgentToken } from '../../src/modules/identity/dev-tokens.ts';
import { request } from 'node:http';
import { API_KEY, type TestGateway } from './gateway.ts';

/** Names unique to this run: conversations, agents and visitors live in the shared test Redis. */
export const CHAT_RUN = `${process.pid}-${Date.now().toString(36)}`;
const AGENT_SECRET = 'agent-secret-for-chat-tests-0123456789';
const ISSUER = 'https://idp.chat.test';
const AUDIENCE = 'omnigate-chat-test';
const WIDGET_KEY = `wk_chat_${CHAT_RUN.replace(/[^A-Za-z0-9]/g, '')}_0123456789`;
export const CHAT_SITE = `chat-${CHAT_RUN}`;
export const CHAT_ADMIN_KEY = 'chat-admin-key-0123456789abcdef';

/** The gateway settings that let agents (JWT) and visitors (widget sessions) in, plus the chat's own. */
export const chatEnv = (chat: Record<string, string> = {}): Record<string, string> => ({
  OMNIGATE_ADMIN_KEYS: `ops:${CHAT_ADMIN_KEY}`,
  OMNIGATE_AGENT_JWT_ISSUER: ISSUER, OMNIGATE_AGENT_JWT_AUDIENCE: AUDIENCE, OMNIGATE_AGENT_JWT_SECRET: AGENT_SECRET,
  OMNIGATE_VISITOR_TOKEN_SECRET: 'visitor-secret-for-chat-tests-0123456789',
  OMNIGATE_WIDGET_KEYS: JSON.stringify([{ name: CHAT_SITE, key: WIDGET_KEY, origins: ['https://shop.example'] }]),
  OMNIGATE_WIDGET_SESSIONS_PER_IP: '100000', OMNIGATE_WIDGET_SESSIONS_PER_SITE: '100000',
  // Every test here starts conversations from 127.0.0.1: a test of these limits sets its own.
  OMNIGATE_CONVERSATION_STARTS_PER_IP: '100000', OMNIGATE_CONVERSATION_STARTS_PER_SITE: '100000',
  ...chat,
});

export interface ChatAnswer {
  readonly status: number;
  readonly body: Record<string, any>;
}

/** Who calls: an API key (undefined), or a bearer token (agent JWT, visitor token). */
export type Caller = string | undefined;

/** One call of the chat API as `caller` from the client address `localAddress` (fetch cannot choose it). */
export function chatFrom(localAddress: string, gw: TestGateway, caller: Caller, method: string, path: string, body?: unknown): Promise<ChatAnswer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers = { ...(caller === undefined ? { 'x-api-key': API_KEY } : { authorization: `Bearer ${caller}` }), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) };
  return new Promise((resolve, reject) => {
    const req = request(`${gw.url}${path}`, { method, localAddress, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** One call of the chat API as `caller`. */
export async function chat(gw: TestGateway, caller: Caller, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ChatAnswer> {
  const res = await gw.api(path, {
    method,
    headers: { ...(caller === undefined ? {} : { authorization: `Bearer ${caller}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : JSON.parse(text) };
}

/** A visitor token from a widget session: `{ token, visitorId }`. */
export async function openVisitor(gw: TestGateway): Promise<{ token: string; visitorId: string }> {
  const res = await fetch(`${gw.url}/v1/widget/sessions`, { method: 'POST', headers: { 'x-widget-key': WIDGET_KEY, 'content-type': 'application/json' }, body: '{}' });
  const session = (await res.json()) as { token: string; visitorId: string };
  if (res.status !== 201 && res.status !== 200) throw new Error(`widget session: ${res.status} ${JSON.stringify(session)}`);
  return session;
}

/** An agent (or supervisor) token for `sub`. */
export const agentToken = (sub: string, role: 'agent' | 'supervisor' = 'agent'): Promise<string> =>
  mintAgentToken({ secret: AGENT_SECRET, issuer: ISSUER, audience: AUDIENCE, sub, role, ttlMs: 600_000 });
