// How a bench socket proves who it is at upgrade, as a value generator processes can receive over IPC.
import { mintAgentToken } from '../../src/modules/identity/dev-tokens.ts';
import type { SocketAuth } from './chat-client.ts';

export type Credentials =
  /** The raw baseline: nothing to prove. */
  | { readonly kind: 'none' }
  /** A service's API key in a header (non-browser clients). */
  | { readonly kind: 'apiKey'; readonly key: string }
  /** An agent's JWT or a visitor token, carried as a browser must: in the subprotocol list. */
  | { readonly kind: 'bearer'; readonly token: string; readonly origin?: string }
  /** An agent: a JWT under the gateway's shared secret, its subject the socket's name, in the subprotocol list. */
  | { readonly kind: 'agentJwt'; readonly secret: string; readonly issuer: string; readonly audience: string }
  /** A visitor: one POST /v1/widget/sessions per socket, then its token in the subprotocol list. */
  | { readonly kind: 'widget'; readonly httpUrl: string; readonly widgetKey: string; readonly origin: string };

/** What socket `who` (unique in the run) sends at upgrade; a widget visitor first gets its session token. */
export async function socketAuth(credentials: Credentials, who: string): Promise<SocketAuth> {
  switch (credentials.kind) {
    case 'none':
      return {};
    case 'apiKey':
      return { headers: { 'x-api-key': credentials.key } };
    case 'bearer':
      return { protocols: ['omnigate.v1', `bearer.${credentials.token}`], ...(credentials.origin ? { headers: { origin: credentials.origin } } : {}) };
    case 'agentJwt': {
      const token = await mintAgentToken({ secret: credentials.secret, issuer: credentials.issuer, audience: credentials.audience, sub: who, role: 'agent', ttlMs: 3_600_000 });
      return { protocols: ['omnigate.v1', `bearer.${token}`] };
    }
    case 'widget': {
      const res = await fetch(`${credentials.httpUrl}/v1/widget/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: credentials.origin, 'x-widget-key': credentials.widgetKey },
        body: '{}',
      });
      if (!res.ok) throw new Error(`POST /v1/widget/sessions: ${res.status} ${await res.text()}`);
      const { token } = (await res.json()) as { token: string };
      return { protocols: ['omnigate.v1', `bearer.${token}`], headers: { origin: credentials.origin } };
    }
  }
}
