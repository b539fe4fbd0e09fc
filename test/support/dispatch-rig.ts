import assert from 'node:assert/strict';
import { customerHmac } from '../../src/modules/identity/widget-keys.ts';
import { agentToken, chat, CHAT_ADMIN_KEY, CHAT_RUN, CHAT_SITE, chatEnv } from './chat-rest.ts';
import type { TestGateway } from './gateway.ts';
import { waitFor } from './wait.ts';
import { connectWs, type Frame, type WsTestClient } from './ws-client.ts';

// Routing dispatch against real gateways: agents in the directory and on real sockets, visitors
// through widget sessions (verified customers of the seed by the identity HMAC). Names carry this
// run's id: the test Redis is shared by every file.
export const DISPATCH_RUN = CHAT_RUN.replace(/[^A-Za-z0-9]/g, '');
/** A group (or agent) name of this run. */
export const own = (name: string) => `${name}-${DISPATCH_RUN}`;
const IDENTITY_SECRET = 'dispatch-identity-secret-0123456789';
const WIDGET_KEY = `wk_dispatch_${DISPATCH_RUN}_0123456789`;
const ORIGIN = 'https://shop.example';

/** A routing gateway's settings with every dispatch timer short (ms); `extra` on top. */
export const dispatchEnv = (extra: Record<string, string> = {}): Record<string, string> => chatEnv({
  OMNIGATE_WIDGET_KEYS: JSON.stringify([{ name: CHAT_SITE, key: WIDGET_KEY, origins: [ORIGIN], identitySecret: IDENTITY_SECRET }]),
  OMNIGATE_CHAT_MAX_OPEN_PER_VISITOR: '20',
  OMNIGATE_DISPATCH: 'routing', OMNIGATE_DISPATCH_OFFER_TIMEOUT_MS: '20000',
  OMNIGATE_DISPATCH_SWEEP_INTERVAL_MS: '50', OMNIGATE_DISPATCH_POSITION_INTERVAL_MS: '100', OMNIGATE_DISPATCH_FACTS_TIMEOUT_MS: '600',
  OMNIGATE_DISPATCH_FACTS_CACHE_TTL_MS: '0', OMNIGATE_DISPATCH_UNCONFIRMED_AFTER_MS: '500',
  ...extra,
});

/** The helpers of one test file: what it opened is closed by `close()`; `mine` is what it made. */
export function dispatchRig() {
  const sockets: WsTestClient[] = [];
  const mine = new Set<string>();

  async function admin(gw: TestGateway, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await gw.api(path, { method, headers: { 'x-api-key': CHAT_ADMIN_KEY, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, body: text === '' ? {} : JSON.parse(text) };
  }

  return {
    mine,
    admin,
    /** Replaces the shared routing rules (every node reads them within about a second; the one asked at once). */
    /**
     * Puts the rules through `gw`, and waits until each of `alsoOn` has them in force: a node re-reads
     * the rules at most every second (routing-rules-store.ts), and until then routes by the ones before.
     */
    async rules(gw: TestGateway, rules: { readonly version: string; readonly [key: string]: unknown }, alsoOn: readonly TestGateway[] = []): Promise<void> {
      const put = await admin(gw, 'PUT', '/v1/admin/routing-rules', rules);
      assert.equal(put.status, 200, JSON.stringify(put.body));
      for (const other of alsoOn) {
        await waitFor(`rules ${rules.version} in force on another node`, async () => (await admin(other, 'GET', '/v1/admin/routing-rules')).body.rules?.version === rules.version, { intervalMs: 100 });
      }
    },
    /** An agent in the directory (the admin API: dispatch re-reads it), not yet online. */
    async agentIn(gw: TestGateway, name: string, groups: string[], maxConcurrent = 3): Promise<string> {
      const id = own(name);
      mine.add(id);
      const put = await admin(gw, 'PUT', `/v1/admin/agents/${id}`, { skills: [], languages: ['en'], groups, maxConcurrent });
      assert.ok(put.status === 200 || put.status === 201, JSON.stringify(put.body));
      return id;
    },
    /** The agent's socket on `gw`: it is online (and gets offers) while it is open. */
    async online(gw: TestGateway, agentId: string): Promise<WsTestClient & { token: string }> {
      const token = await agentToken(agentId);
      const client = await connectWs(gw.url, { token });
      sockets.push(client);
      await client.waitFor('welcome', (f) => f.type === 'welcome');
      return Object.assign(client, { token });
    },
    /** A visitor of the test site; `customerId`: a verified customer of the seed. */
    async visitor(gw: TestGateway, customerId?: string): Promise<{ token: string; visitorId: string }> {
      const body = customerId === undefined ? {} : { customerId, customerHmac: customerHmac(IDENTITY_SECRET, customerId) };
      const res = await fetch(`${gw.url}/v1/widget/sessions`, { method: 'POST', headers: { 'x-widget-key': WIDGET_KEY, origin: ORIGIN, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(res.status, 201, await res.clone().text());
      return (await res.json()) as { token: string; visitorId: string };
    },
    /** A conversation the visitor starts in `group` (the widget's group). */
    async start(gw: TestGateway, token: string, group: string): Promise<string> {
      const res = await chat(gw, token, 'POST', '/v1/conversations', { group });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      mine.add(String(res.body.conversationId));
      return String(res.body.conversationId);
    },
    /** A visitor's socket (as a browser opens it) following its conversation. */
    async following(gw: TestGateway, token: string, conversationId: string): Promise<WsTestClient> {
      const client = await connectWs(gw.url, { protocols: ['omnigate.v1', `bearer.${token}`], headers: { origin: ORIGIN } });
      sockets.push(client);
      await client.waitFor('welcome', (f) => f.type === 'welcome');
      assert.equal((await client.request({ type: 'subscribe', conversationId, afterSeq: 0 })).type, 'subscribed');
      return client;
    },
    routingOf: async (gw: TestGateway, id: string): Promise<any> => (await chat(gw, undefined, 'GET', `/v1/conversations/${id}/routing`)).body,
    stateOf: async (gw: TestGateway, id: string): Promise<any> => (await chat(gw, undefined, 'GET', `/v1/conversations/${id}`)).body,
    offerTo: (agent: WsTestClient, conversationId: string, from = 0): Promise<Frame> =>
      agent.waitFor(`an offer of ${conversationId}`, (f) => f.type === 'offer' && f.conversationId === conversationId, from),
    async close(): Promise<void> {
      await Promise.all(sockets.splice(0).map((s) => s.close()));
    },
  };
}
