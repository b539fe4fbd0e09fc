import { CHAT_ORIGIN, WIDGET_KEY } from './chat-principals.ts';
import { vouchFor } from './dispatch-nodes.ts';

/** A conversation a visitor started, as the test knows it. */
export interface StartedConversation {
  readonly conversationId: string;
  readonly visitorId: string;
  readonly token: string;
  /** The verified customer behind the visitor; absent: anonymous. */
  readonly customerId?: string;
  readonly group?: string;
  /** Its place in the order the test started them. */
  readonly index: number;
}

/** What a visitor starts a conversation with. */
export interface VisitorSpec {
  /** A customer id the site vouches for (identity verification HMAC); absent: an anonymous visitor. */
  readonly customerId?: string;
  /** The group the widget names. */
  readonly group?: string;
  readonly subject?: string;
}

/** Every request of a visitor has a bound: a hung gateway fails the test instead of holding it. */
const BOUND_MS = 15_000;

/** A visitor's widget session: `{ token, visitorId }`, verified when `customerId` is given. */
export async function visitorSessionFor(node: { readonly url: string }, customerId?: string): Promise<{ token: string; visitorId: string; customerId?: string }> {
  const identity = customerId === undefined ? {} : { customerId, customerHmac: vouchFor(customerId) };
  const session = await fetch(`${node.url}/v1/widget/sessions`, {
    method: 'POST', headers: { 'x-widget-key': WIDGET_KEY, origin: CHAT_ORIGIN, 'content-type': 'application/json' }, body: JSON.stringify(identity), signal: AbortSignal.timeout(BOUND_MS),
  });
  if (session.status !== 201 && session.status !== 200) throw new Error(`widget session (${customerId ?? 'anonymous'}): ${session.status} ${await session.text()}`);
  const { token, visitorId } = (await session.json()) as { token: string; visitorId: string };
  return { token, visitorId, ...(customerId === undefined ? {} : { customerId }) };
}

/** `POST /v1/conversations` with a session's token. */
export async function startWith(node: { readonly url: string }, session: { token: string; visitorId: string; customerId?: string }, spec: Omit<VisitorSpec, 'customerId'>, index = 0): Promise<StartedConversation> {
  const body = { subject: spec.subject ?? `visitor ${index}`, ...(spec.group === undefined ? {} : { group: spec.group }) };
  const started = await fetch(`${node.url}/v1/conversations`, {
    method: 'POST', headers: { authorization: `Bearer ${session.token}`, origin: CHAT_ORIGIN, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(BOUND_MS),
  });
  if (started.status !== 201) throw new Error(`start (${JSON.stringify(spec)}): ${started.status} ${await started.text()}`);
  const { conversationId } = (await started.json()) as { conversationId: string };
  return { conversationId, visitorId: session.visitorId, token: session.token, index, ...(session.customerId === undefined ? {} : { customerId: session.customerId }), ...(spec.group === undefined ? {} : { group: spec.group }) };
}

/**
 * A visitor as the widget does it: a widget session (verified when `customerId` is given), then
 * `POST /v1/conversations` with its token. Rejects unless both succeed.
 */
export async function startConversation(node: { readonly url: string }, spec: VisitorSpec, index = 0): Promise<StartedConversation> {
  return startWith(node, await visitorSessionFor(node, spec.customerId), spec, index);
}

/** Starts them all at once, spread over the nodes in turn; resolves in spec order. */
export function startConversations(nodes: readonly { readonly url: string }[], specs: readonly VisitorSpec[]): Promise<StartedConversation[]> {
  return Promise.all(specs.map((spec, i) => startConversation(nodes[i % nodes.length]!, spec, i)));
}
