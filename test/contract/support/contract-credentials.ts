import type { Request, RequestHandler } from 'express';
import { createHttpClient, hmacAuth, oauth2ClientCredentials, type OutgoingRequest } from 'omnigate/sdk';
import { connectorEnv } from '../../../scripts/lib/backends.ts';
import { createLogger } from '../../../src/kernel/logger.ts';
import { createPools } from '../../../src/sdk/transport.ts';

type System = 'orders' | 'crm' | 'tickets';

/** Where Pact's verifier posts provider-state changes, through the same proxy and filter: left alone. */
const PACT_STATE_SETUP_PATH = '/_pactSetup';

export interface CredentialFilters {
  /** Pact request filters: each replayed request leaves with the backend's real credentials. */
  readonly filters: Readonly<Record<System, RequestHandler>>;
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

  const filter =
    (work: (req: Request) => void | Promise<void>): RequestHandler =>
    (req, _res, next) => {
      if (req.path === PACT_STATE_SETUP_PATH) return next();
      Promise.resolve(work(req)).then(() => next(), next);
    };

  return {
    filters: {
      orders: filter(async (req) => {
        if (req.path === '/oauth/token' && isPlainObject(req.body)) {
          setBody(req, new URLSearchParams({ ...(req.body as Record<string, string>), client_id: orders.clientId, client_secret: orders.clientSecret }).toString());
        } else {
          req.headers.authorization = `Bearer ${await oauth.token()}`;
        }
      }),
      crm: filter((req) => {
        req.headers.authorization = `Token ${crmToken}`;
      }),
      tickets: filter(async (req) => {
        const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : JSON.stringify(req.body ?? {});
        setBody(req, body);
        const outgoing: OutgoingRequest = { method: req.method, url: new URL(req.originalUrl, urls.tickets), headers: {}, body };
        await signer.authorize(outgoing);
        Object.assign(req.headers, outgoing.headers);
      }),
    },
    close: () => pools.destroy(),
  };
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Buffer.isBuffer(value);

/** Pact's proxy forwards `req.body` (re-serialising parsed bodies): make it the exact bytes we mean. */
function setBody(req: Request, text: string): void {
  req.body = Buffer.from(text, 'utf8');
  req.headers['content-length'] = String(Buffer.byteLength(text));
}
