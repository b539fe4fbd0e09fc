// Ask the bot about an order in Chinese, be handed to an agent, then open the order's lineage:
//   node scripts/bot-demo.ts --url http://127.0.0.1:8080 --widget-key <key> --identity-secret <secret> --api-key <key> --agent-token <ada's JWT>
// (./dev demo prints this line with its own keys.) A verified customer of the seed asks
// "我的订单ORD-…到哪了" about one of their own orders; the built-in bot looks it up through the
// query API and answers; "转人工" hands the conversation over with the bot's findings; agent ada,
// online on a WebSocket, is offered it and accepts. Then it prints what the agent's sidebar shows,
// the conversation's trace (what each message caused) and the order's lineage (which conversations
// touched it, who, what was shown), with the commands to see them yourself.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { customerHmac } from '../src/modules/identity/widget-keys.ts';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8080' }, 'widget-key': { type: 'string' }, 'identity-secret': { type: 'string' },
    'api-key': { type: 'string' }, 'agent-token': { type: 'string' }, customer: { type: 'string', default: '42' },
  },
});
if (!args['widget-key'] || !args['identity-secret'] || !args['api-key'] || !args['agent-token']) {
  process.stderr.write('usage: node scripts/bot-demo.ts [--url http://host:port] --widget-key <key> --identity-secret <secret> --api-key <key> --agent-token <agent JWT> [--customer 42]\n');
  process.exit(2);
}
const base = args.url!;
const apiKey = args['api-key']!;
const out = (line: string) => process.stdout.write(`${line}\n`);
const WAIT_MS = 20_000;

async function json(res: Response): Promise<Record<string, any>> {
  const body = (await res.json()) as Record<string, any>;
  if (!res.ok) throw new Error(`${res.url}: ${res.status} ${body.detail ?? JSON.stringify(body)}`);
  return body;
}
const asService = async (path: string) => json(await fetch(`${base}${path}`, { headers: { 'x-api-key': apiKey } }));

/** Polls `probe` until it answers something, or fails after WAIT_MS saying what it waited for. */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const by = Date.now() + WAIT_MS;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > by) throw new Error(`waited ${WAIT_MS} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

// The customer's latest order, and a widget session for them as the shop's site would sign it.
const customerId = args.customer!;
const orders = await asService(`/v1/customers/${customerId}/orders?pageSize=1`);
const order = (orders.data?.items ?? [])[0] as { id: string } | undefined;
if (!order) throw new Error(`customer ${customerId} has no orders`);
const session = await json(await fetch(`${base}/v1/widget/sessions`, {
  method: 'POST', headers: { 'x-widget-key': args['widget-key']!, 'content-type': 'application/json' },
  body: JSON.stringify({ customerId, customerHmac: customerHmac(args['identity-secret']!, customerId) }),
}));
const visitor = { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' };

/** The visitor's view of the conversation's messages after `afterSeq`. */
async function messagesAfter(conversationId: string, afterSeq: number): Promise<{ seq: number; by: { kind: string }; data: { text?: string; card?: { title: string } } }[]> {
  const page = await json(await fetch(`${base}/v1/conversations/${conversationId}/messages?afterSeq=${afterSeq}`, { headers: visitor }));
  return page.messages as never;
}
const said = (m: { data: { text?: string; card?: { title: string } } }) => m.data.text ?? `[card] ${m.data.card?.title ?? ''}`;

// Agent ada comes online first, so that routing can offer her the conversation once it is handed over.
const agent = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/ws`, { headers: { authorization: `Bearer ${args['agent-token']}` } });
const offers: { conversationId: string; offerId: string }[] = [];
agent.on('message', (data) => {
  const frame = JSON.parse(String(data)) as { type: string; conversationId?: string; offerId?: string };
  if (frame.type === 'offer' && frame.conversationId && frame.offerId) offers.push({ conversationId: frame.conversationId, offerId: frame.offerId });
});
await new Promise<void>((resolve, reject) => {
  agent.once('message', () => resolve());
  agent.once('error', reject);
});

const question = `我的订单${order.id}到哪了`;
const started = await json(await fetch(`${base}/v1/conversations`, {
  method: 'POST', headers: visitor, body: JSON.stringify({ clientId: randomUUID(), language: 'zh', message: { contentType: 'text', text: question } }),
}));
const conversationId = String(started.conversationId);
out(`visitor (customer ${customerId}): ${question}   — conversation ${conversationId}`);
const answer = await until('the bot to answer', async () => (await messagesAfter(conversationId, Number(started.seq))).find((m) => m.by.kind === 'bot'));
out(`bot: ${said(answer)}`);

const handover = await json(await fetch(`${base}/v1/conversations/${conversationId}/messages`, {
  method: 'POST', headers: visitor, body: JSON.stringify({ clientId: randomUUID(), contentType: 'text', text: '转人工' }),
}));
out('visitor: 转人工');
const offer = await until('an offer to agent ada', async () => offers.find((o) => o.conversationId === conversationId));
await json(await fetch(`${base}/v1/conversations/${conversationId}/accept`, {
  method: 'POST', headers: { authorization: `Bearer ${args['agent-token']}`, 'content-type': 'application/json' }, body: JSON.stringify({ offerId: offer.offerId }),
}));
for (const m of await messagesAfter(conversationId, Number(handover.seq))) if (m.by.kind === 'bot') out(`bot: ${said(m)}`);
out('agent ada accepted the conversation');
agent.close();

const sidebar = await asService(`/v1/conversations/${conversationId}/context`);
out(`ada's sidebar — the bot's findings: ${JSON.stringify(sidebar.botFindings ?? null)}`);
const trace = await asService(`/v1/conversations/${conversationId}/trace`);
for (const message of (trace.messages ?? []) as Record<string, any>[]) {
  const intent = message.understanding?.intent;
  const calls = ((message.calls ?? []) as Record<string, any>[]).map((c) => `${c.capability} via ${c.connector}@${c.version} → ${c.outcome?.status} in ${c.outcome?.latencyMs} ms`);
  const which = message.seq === undefined ? `calls for no message in particular (${String(message.calls?.[0]?.purpose ?? 'console')})` : `message ${message.seq}`;
  out(`trace of ${which}: ${intent ? `intent ${intent}; ` : ''}${calls.join('; ') || 'no calls'}`);
}
const jaegerUrl = (trace.messages as Record<string, any>[] | undefined)?.flatMap((m) => (m.calls ?? []) as Record<string, any>[]).find((c) => c.jaegerUrl)?.jaegerUrl;
// The native Jaeger build has no UI pages (README, Tracing): its query API gives the same trace as JSON.
if (jaegerUrl) out(`the bot's order look-up, from the message down to the orders backend's HTTP call, in Jaeger: ${jaegerUrl} (as JSON: curl -s ${String(jaegerUrl).replace('/trace/', '/api/traces/')})`);
const lineage = await asService(`/v1/lineage/orders/${order.id}`);
for (const entry of ((lineage.items ?? []) as Record<string, any>[]).slice(0, 5)) {
  out(`lineage of ${order.id}: ${entry.at} conversation ${entry.conversationId} by ${entry.actor?.kind}:${entry.actor?.id} (${entry.capability}${entry.shown ? `; shown: ${entry.shown}` : ''})`);
}
out(`See it yourself: curl -s -H 'X-Api-Key: ${apiKey}' ${base}/v1/lineage/orders/${order.id}`);
out(`and what each message caused: curl -s -H 'X-Api-Key: ${apiKey}' ${base}/v1/conversations/${conversationId}/trace`);
process.exit(0);
