import { createHttpClient, hmacAuth, oauth2ClientCredentials, type OutgoingRequest } from 'omnigate/sdk';
import type { ReplayedRequest, RequestFilter } from 'omnigate/sdk/testing';
import { connectorEnv } from '../../../scripts/lib/backends.ts';
import { createLogger } from '../../../src/kernel/logger.ts';
import { createPools } from '../../../src/sdk/transport.ts';

type System = 'orders' | 'crm' | 'tickets';

export interface CredentialFilters {
  /** Request filters of `verifyContract`: each replayed request leaves with the backend's real credentials. */
  readonly filters: Readonly<Record<System, RequestFilter>>;
  close(): void;
}

/**
 * Contracts carry placeholder credentials; these filters put in the real ones of the backends
 * of this run (the same dev credentials the gateway is given), through the SDK's own auth
 * strategies. Tickets requests are signed here, one by one, over the exact body forwarded: a
 * recorded signature would be stale and, once used, rejected as a replay.
 */
export function createCredentialFilters(urls: Readonly<Record<System, string>>): CredentialFilters {
  const env = connectorEnv(urls);
  const setting = (name: string): string => {
    const value = env[name];
    if (value === undefined) throw new Error(`connectorEnv has no ${name}`);
    return value;
  };
  const log = createLogger({ level: 'silent' });
  const pools = createPools();
  const orders = {
    clientId: setting('OMNIGATE_CONNECTOR_ORDERS_JAVA_CLIENT_ID'),
    clientSecret: setting('OMNIGATE_CONNECTOR_ORDERS_JAVA_CLIENT_SECRET'),
  };
  const oauth = oauth2ClientCredentials({ http: createHttpClient({ baseUrl: urls.orders, log, pools }), tokenPath: '/oauth/token', ...orders });
  const crmToken = setting('OMNIGATE_CONNECTOR_CRM_PYTHON_API_TOKEN');
  const signer = hmacAuth({ secret: setting('OMNIGATE_CONNECTOR_TICKETS_NODE_HMAC_SECRET') });

  return {
    filters: {
      orders: async (req) => {
        if (pathOf(req) === '/oauth/token') {
          const form = new URLSearchParams(req.body.toString('utf8'));
          form.set('client_id', orders.clientId);
          form.set('client_secret', orders.clientSecret);
          req.body = Buffer.from(form.toString(), 'utf8');
        } else {
          req.headers.authorization = `Bearer ${await oauth.token()}`;
        }
      },
      crm: (req) => {
        req.headers.authorization = `Token ${crmToken}`;
      },
      // Signed over the exact bytes forwarded (the kit forwards the body as Pact sent it).
      tickets: async (req) => {
        const outgoing: OutgoingRequest = { method: req.method, url: new URL(req.path, urls.tickets), headers: {}, body: req.body.toString('utf8') };
        await signer.authorize(outgoing);
        for (const [name, value] of Object.entries(outgoing.headers)) req.headers[name.toLowerCase()] = value;
      },
    },
    close: () => pools.destroy(),
  };
}

const pathOf = (req: ReplayedRequest): string => req.path.split('?')[0] ?? req.path;
