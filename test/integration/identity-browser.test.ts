import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { launchChromium, type Browser } from '../support/chromium.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { freePort } from '../support/ports.ts';

// A real browser page: it cannot set headers on a WebSocket, sends its own Origin, and must
// carry its token as a subprotocol or a ticket. One page server, two origins: 127.0.0.1 is the
// widget key's, localhost is not.
const RUN = `${process.pid}${Date.now().toString(36)}`;
const WIDGET_KEY = `wk_browser_${RUN}_0123456789`;

describe('the chat WebSocket from headless Chromium', () => {
  let gw: TestGateway;
  let pages: Server;
  let pagePort: number;
  let browser: Browser;
  before(async () => {
    pagePort = await freePort();
    pages = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>shop</title>'));
    await new Promise<void>((resolve) => pages.listen(pagePort, '127.0.0.1', resolve));
    gw = await startTestGateway({
      OMNIGATE_VISITOR_TOKEN_SECRET: 'visitor-secret-for-browser-test-0123456789',
      // The per-IP count is shared in Redis by every gateway of the run, and all of them are
      // 127.0.0.1: with the default 30 a minute, the files before this one used it up in CI.
      OMNIGATE_WIDGET_SESSIONS_PER_IP: '100000',
      OMNIGATE_WIDGET_KEYS: JSON.stringify([{ name: `browser-${RUN}`, key: WIDGET_KEY, origins: [`http://127.0.0.1:${pagePort}`] }]),
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.stop();
    await new Promise((resolve) => pages.close(resolve));
  });

  /** In the page: a widget session (CORS), then the socket with the token as subprotocol or through a ticket; the first frame or the close code. */
  const chatFrom = (origin: string, carrier: 'subprotocol' | 'ticket') => browser.evaluateOn(`${origin}/`, `(async () => {
    const gateway = ${JSON.stringify(gw.url)};
    const session = await fetch(gateway + '/v1/widget/sessions', { method: 'POST', headers: { 'x-widget-key': ${JSON.stringify(WIDGET_KEY)} } }).then((r) => r.json(), (e) => ({ fetchError: String(e) }));
    if (!session.token) return { session };
    let url = gateway.replace('http', 'ws') + '/v1/ws';
    let protocols = ['omnigate.v1', 'bearer.' + session.token];
    if (${JSON.stringify(carrier)} === 'ticket') {
      const { ticket } = await fetch(gateway + '/v1/ws/tickets', { method: 'POST', headers: { authorization: 'Bearer ' + session.token } }).then((r) => r.json());
      url += '?ticket=' + ticket;
      protocols = ['omnigate.v1'];
    }
    return await new Promise((resolve) => {
      const ws = new WebSocket(url, protocols);
      ws.onmessage = (e) => { resolve({ protocol: ws.protocol, frame: JSON.parse(e.data) }); ws.close(); };
      ws.onclose = (e) => resolve({ closeCode: e.code, reason: e.reason });
    });
  })()`);

  test('a page on an allowed origin opens the socket with its token as a subprotocol and gets the welcome frame', async () => {
    const answer = (await chatFrom(`http://127.0.0.1:${pagePort}`, 'subprotocol')) as { protocol?: string; frame?: { type: string; principal: { kind: string } } };
    assert.equal(answer.protocol, 'omnigate.v1', JSON.stringify(answer));
    assert.equal(answer.frame?.type, 'welcome');
    assert.equal(answer.frame?.principal.kind, 'visitor');
  });

  test('a page on an allowed origin opens the socket with a single-use ticket from POST /v1/ws/tickets (CORS)', async () => {
    const answer = (await chatFrom(`http://127.0.0.1:${pagePort}`, 'ticket')) as { frame?: { type: string; principal: { kind: string } } };
    assert.equal(answer.frame?.type, 'welcome', JSON.stringify(answer));
    assert.equal(answer.frame?.principal.kind, 'visitor');
  });

  test('a page on another origin cannot open a session, and its socket is closed with ORIGIN_NOT_ALLOWED', async () => {
    const blocked = (await chatFrom(`http://localhost:${pagePort}`, 'subprotocol')) as { session?: { fetchError?: string } };
    // The browser enforces CORS: no Access-Control-Allow-Origin for this origin, so the page cannot read a token.
    assert.match(String(blocked.session?.fetchError), /Failed to fetch/);
    // With a token it got elsewhere, the upgrade from this origin is refused by the gateway itself.
    const session = await fetch(`${gw.url}/v1/widget/sessions`, { method: 'POST', headers: { 'x-widget-key': WIDGET_KEY } }).then((r) => r.json() as Promise<{ token: string }>);
    const refused = (await browser.evaluateOn(`http://localhost:${pagePort}/`, `new Promise((resolve) => {
      const ws = new WebSocket(${JSON.stringify(gw.url.replace('http', 'ws'))} + '/v1/ws', ['omnigate.v1', 'bearer.' + ${JSON.stringify(session.token)}]);
      ws.onmessage = (e) => resolve({ frame: JSON.parse(e.data) });
      ws.onclose = (e) => resolve({ closeCode: e.code });
    })`)) as { closeCode?: number };
    assert.deepEqual(refused, { closeCode: 4403 });
  });
});
