import type { Logger } from 'pino';
import type { TraceContext } from '../kernel/trace.ts';
import type { HttpClient, OutgoingRequest } from './http-client.ts';

/** A JSON Schema (2020-12) object. */
export type JsonSchema = { readonly [key: string]: unknown };

/** One thing a connector can do, named `noun.verb` (`order.get`, `ticket.create`). */
export interface CapabilityDeclaration {
  readonly name: `${string}.${string}`;
  /** `query` reads and may be retried; `command` writes and never is. */
  readonly kind: 'query' | 'command';
  readonly description: string;
  /** JSON Schema of the params, checked by the gateway before the connector is called. */
  readonly params: JsonSchema;
  /** Canonical schema of the result: `Customer`, `Order`, `Ticket`, `Requester`, `Product`, or a page of one (`Page<Order>`). */
  readonly result: CanonicalResult;
  /**
   * The fields of the result that name business records: lineage indexes every call made for a
   * conversation under them (`GET /v1/lineage/{system}/{id}`), for a connector nobody here wrote too.
   */
  readonly businessKeys?: readonly BusinessKeyDeclaration[];
}

/** A field of a capability's result that names a business record. */
export interface BusinessKeyDeclaration {
  /** The record's kind: `order`, `customer`, `ticket`, `product`, `requester`. */
  readonly type: string;
  /** A dotted path into the result (into each item of a `Page<…>`); `[]` steps into an array: `id`, `customerRef`, `lines[].sku`. */
  readonly path: string;
  /** The system the id belongs to, when not the connector's own (`manifest.system`). */
  readonly system?: string;
}

export type CanonicalEntity = 'Customer' | 'Order' | 'Ticket' | 'Requester' | 'Product';
export type CanonicalResult = CanonicalEntity | `Page<${CanonicalEntity}>`;

/** A raw path the gateway may pass through to the backend (`/v1/proxy/{system}/...`). */
export interface ProxyRule {
  readonly methods: readonly string[];
  /** Path pattern on the backend; `*` matches one segment, `**` the rest. */
  readonly path: string;
  /**
   * JSON-RPC methods this rule opens (`tickets.get`). When set, the body must be a JSON-RPC call
   * or batch, with no key named twice, and every call's `method` must be listed; else refused.
   */
  readonly rpcMethods?: readonly string[];
}

/** What a connector says about itself; validated by the registry before anything runs. */
export interface ConnectorManifest {
  /** Kebab-case, unique: `orders-java`. */
  readonly name: string;
  /** Semver of the connector package. */
  readonly version: string;
  /** The backend system it reaches: `orders`, `crm`, `tickets`. Also the proxy's path segment. */
  readonly system: string;
  readonly description: string;
  readonly capabilities: readonly CapabilityDeclaration[];
  /**
   * JSON Schema of the connector's config. Mark secret fields with `"x-secret": true`: they are
   * never logged nor shown. Must declare `baseUrl`.
   */
  readonly configSchema: JsonSchema;
  readonly proxy?: { readonly allow: readonly ProxyRule[] };
  /** The canonical event types this connector turns webhooks or polling into. */
  readonly events?: { readonly types: readonly string[]; readonly pollIntervalMs?: number };
}

/** A backend's webhook delivery, as the gateway received it: the exact body, for signatures. */
export interface WebhookDelivery {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** An event in canonical form; the gateway wraps it in a CloudEvent and publishes it. */
export interface CanonicalEvent {
  /** Stable across redeliveries of the same change (a delivery id, a change sequence): duplicates are dropped by it. */
  readonly id: string;
  /** `noun.past_tense`, one of manifest.events.types. */
  readonly type: string;
  /** What it is about: a ticket id, an order id. Also the ordering key. */
  readonly subject: string;
  /** When it happened, RFC 3339 UTC. */
  readonly time: string;
  readonly data: unknown;
}

/** What one poll found, and where the next one starts. */
export interface PollResult {
  readonly events: readonly CanonicalEvent[];
  readonly cursor: string;
}

/** Adds credentials to every outgoing request; made once per connector by `auth()`. */
export interface Authenticator {
  authorize(request: OutgoingRequest): void | Promise<void>;
  /**
   * Called when the backend answered 401 to a request this authenticator authorized. Return true
   * if fresh credentials are worth one retry (the HTTP client retries that request once).
   */
  invalidate?(request: OutgoingRequest): boolean;
}

/** What `auth()` receives. */
export interface AuthContext<Config> {
  readonly config: Config;
  readonly log: Logger;
  /** An HTTP client without credentials, for token endpoints. */
  readonly http: HttpClient;
}

/** Everything a connector sees during one call: nothing of Kafka, breakers or process.env. */
export interface ConnectorContext<Config> {
  readonly config: Config;
  /** Injects credentials and `traceparent`, honours `signal`, times and logs each call. */
  readonly http: HttpClient;
  readonly log: Logger;
  /** Aborted when the caller goes away or the call's deadline passes. */
  readonly signal: AbortSignal;
  readonly trace: TraceContext;
}

export type Params = Readonly<Record<string, unknown>>;

/** One read or write; returns canonical data (checked against schemas/ by the gateway). */
export type Operation<Config> = (params: Params, ctx: ConnectorContext<Config>) => Promise<unknown>;

export interface HealthReport {
  readonly ok: boolean;
  readonly detail?: string;
}

/** What a connector author writes and hands to `defineConnector`. */
export interface ConnectorDefinition<Config> {
  readonly manifest: ConnectorManifest;
  /** Obtains credentials (and proves them) once at load; returns what adds them to each request. */
  auth(ctx: AuthContext<Config>): Promise<Authenticator>;
  /** One function per `query` capability, keyed by capability name. */
  readonly queries: Readonly<Record<string, Operation<Config>>>;
  /** One function per `command` capability, keyed by capability name. */
  readonly commands?: Readonly<Record<string, Operation<Config>>>;
  health(ctx: ConnectorContext<Config>): Promise<HealthReport>;
  /** Verifies a webhook delivery (throw UnauthorizedError if it is not the backend's) and maps it to events. */
  webhook?(delivery: WebhookDelivery, ctx: ConnectorContext<Config>): Promise<readonly CanonicalEvent[]>;
  /** Reads the changes after `cursor` (undefined: from the beginning); one node polls at a time. */
  poll?(cursor: string | undefined, ctx: ConnectorContext<Config>): Promise<PollResult>;
  close?(): Promise<void>;
}

/** A checked connector, as the registry uses it. */
export interface Connector<Config = unknown> {
  readonly manifest: ConnectorManifest;
  auth(ctx: AuthContext<Config>): Promise<Authenticator>;
  query(capability: string, params: Params, ctx: ConnectorContext<Config>): Promise<unknown>;
  execute(capability: string, params: Params, ctx: ConnectorContext<Config>): Promise<unknown>;
  health(ctx: ConnectorContext<Config>): Promise<HealthReport>;
  webhook?(delivery: WebhookDelivery, ctx: ConnectorContext<Config>): Promise<readonly CanonicalEvent[]>;
  poll?(cursor: string | undefined, ctx: ConnectorContext<Config>): Promise<PollResult>;
  close(): Promise<void>;
}
