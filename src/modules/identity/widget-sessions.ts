import { randomUUID } from 'node:crypto';
import { AppError, isAppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { RecordStore } from '../../ports/record-store.ts';
import type { VisitorTokens } from '../auth/visitor-tokens.ts';
import type { CallOptions, QueryService } from '../query/query.service.ts';
import type { VisitorLimits } from './visitor-limits.ts';
import { isCustomerHmac, type WidgetKeys } from './widget-keys.ts';

/** What a widget sends to open a session (the widget key comes in `X-Widget-Key`). */
export interface WidgetSessionRequest {
  readonly widgetKey: string;
  /** The page's `Origin`, when a browser sent the request. */
  readonly origin?: string;
  /** The client's address, for the per-address limit. */
  readonly ip: string;
  /** Identity verification: the customer-master id and its HMAC under the site's identity secret, both or neither. */
  readonly customerId?: string;
  readonly customerHmac?: string;
  /** The visitor's previous, still valid token: the session keeps its visitor id. */
  readonly previousToken?: string;
}

export interface WidgetSession {
  readonly token: string;
  readonly visitorId: string;
  readonly site: string;
  readonly expiresAt: number;
  /** Present when the visitor is linked to a customer (now or by an earlier verified session). */
  readonly customerId?: string;
  /** Whether the session kept the visitor id of `previousToken`. */
  readonly resumed: boolean;
}

/** Opens widget sessions: a visitor token scoped to one visitor of one site. */
export interface WidgetSessions {
  open(request: WidgetSessionRequest, call: CallOptions): Promise<WidgetSession>;
  /** The customer a visitor is linked to, if a verified session linked it. */
  customerOf(visitorId: string): Promise<string | undefined>;
}

export interface WidgetSessionsDeps {
  readonly widgetKeys: WidgetKeys;
  readonly visitorTokens: VisitorTokens;
  readonly limits: VisitorLimits;
  /** The customer master, through `customer.get`. */
  readonly query: QueryService;
  /** Where verified visitor → customer links are kept (shared by nodes). */
  readonly records: RecordStore;
  readonly log: Logger;
}

interface VisitorLink {
  readonly site: string;
  readonly customerId: string;
  readonly linkedAt: string;
}

const LINKS = 'omnigate:visitors:links';
const byCustomer = (customerId: string): string => `omnigate:visitors:idx:customer:${customerId}`;

export function createWidgetSessions(deps: WidgetSessionsDeps): WidgetSessions {
  const linkOf = async (visitorId: string): Promise<VisitorLink | undefined> => {
    const raw = await deps.records.get(LINKS, visitorId);
    return raw === undefined ? undefined : (JSON.parse(raw) as VisitorLink);
  };

  /** The customer id the site proved, after checking it against the customer master. */
  async function verifiedCustomer(site: string, request: WidgetSessionRequest, call: CallOptions): Promise<string | undefined> {
    const { customerId, customerHmac } = request;
    if (customerId === undefined && customerHmac === undefined) return undefined;
    if (customerId === undefined || customerHmac === undefined) {
      const field = customerId === undefined ? 'customerId' : 'customerHmac';
      throw new AppError('VALIDATION_FAILED', `body: identity verification needs customerId and customerHmac together (${field} is missing)`, { errors: [{ in: 'body', pointer: `/${field}`, message: `${field} is required with the other` }] });
    }
    const secret = deps.widgetKeys.byName(site)?.identitySecret;
    if (secret === undefined) throw new AppError('IDENTITY_NOT_VERIFIED', `the widget key of ${site} has no identity secret: it cannot verify customers`);
    if (!isCustomerHmac(secret, customerId, customerHmac)) throw new AppError('IDENTITY_NOT_VERIFIED', 'customerHmac is not the HMAC-SHA256 of customerId under the site\'s identity secret');
    try {
      await deps.query.call('customer.get', { id: customerId }, call);
    } catch (err) {
      if (isAppError(err) && (err.code === 'NOT_FOUND' || err.code === 'VALIDATION_FAILED')) throw new AppError('IDENTITY_NOT_VERIFIED', `the customer master has no customer ${customerId}`);
      // The site's HMAC proves who the visitor is: a customer master that cannot answer now does not undo that.
      call.log.warn({ err, site }, 'verified visitor linked without a customer-master lookup');
    }
    return customerId;
  }

  return {
    customerOf: async (visitorId) => (await linkOf(visitorId))?.customerId,
    async open(request, call) {
      const key = deps.widgetKeys.byKey(request.widgetKey);
      if (key === undefined) throw new AppError('UNAUTHENTICATED', 'the widget key (X-Widget-Key) is not known');
      const site = key.name;
      if (request.origin !== undefined && !deps.widgetKeys.originAllowed(site, request.origin)) {
        throw new AppError('ORIGIN_NOT_ALLOWED', `the widget key of ${site} does not allow the origin ${request.origin}`);
      }
      await deps.limits.session(site, request.ip);
      const previous = request.previousToken === undefined ? undefined : await deps.visitorTokens.verify(request.previousToken);
      if (previous !== undefined && previous.site !== site) throw new AppError('UNAUTHENTICATED', 'previousToken belongs to another site');
      const verified = await verifiedCustomer(site, request, call);
      const previousLink = previous === undefined ? undefined : (await linkOf(previous.visitorId))?.customerId ?? previous.customerId;
      // Another customer proven on the same browser (a different login): a new visitor, never a merge.
      const keepsVisitor = previous !== undefined && (verified === undefined || previousLink === undefined || previousLink === verified);
      const visitorId = keepsVisitor ? previous.visitorId : randomUUID();
      const customerId = verified ?? (keepsVisitor ? previousLink : undefined);
      if (verified !== undefined && (!keepsVisitor || previousLink !== verified)) {
        const link: VisitorLink = { site, customerId: verified, linkedAt: new Date().toISOString() };
        await deps.records.insert(LINKS, visitorId, JSON.stringify(link), [byCustomer(verified)]);
        call.log.info({ site, visitorId }, 'visitor linked to a verified customer');
      }
      const { token, expiresAt } = await deps.visitorTokens.issue({ visitorId, site, ...(customerId === undefined ? {} : { customerId }) });
      return { token, visitorId, site, expiresAt, ...(customerId === undefined ? {} : { customerId }), resumed: keepsVisitor };
    },
  };
}
