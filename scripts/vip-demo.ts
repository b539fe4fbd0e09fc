// See a VIP jump the queue (the demo's routing rules, config/routing-rules.demo.json):
//   node scripts/vip-demo.ts --url http://127.0.0.1:8080 --widget-key <key> --identity-secret <secret> --api-key <key>
// A standard customer starts a chat, then a VIP does (both verified customers of the seed, with
// no big open order or urgent ticket, so both wait in "general"). The CRM says who is a VIP; the
// rules give the VIP +50 priority, worth 50 s of waiting, so the VIP is offered first. It prints
// each decision (GET /v1/conversations/{id}/routing) and the queue (GET /v1/queues); then an agent
// who comes online (node scripts/chat.ts --token <agent JWT> --next) is offered the VIP's chat
// before the standard customer's.
import { parseArgs } from 'node:util';
import { customerHmac } from '../src/modules/identity/widget-keys.ts';

const { values: args } = parseArgs({
  options: { url: { type: 'string', default: 'http://127.0.0.1:8080' }, 'widget-key': { type: 'string' }, 'identity-secret': { type: 'string' }, 'api-key': { type: 'string' } },
});
if (!args['widget-key'] || !args['identity-secret'] || !args['api-key']) {
  process.stderr.write('usage: node scripts/vip-demo.ts [--url http://host:port] --widget-key <key> --identity-secret <secret> --api-key <key>\n');
  process.exit(2);
}
const base = args.url!;
const out = (line: string) => process.stdout.write(`${line}\n`);
/** Customers of the seed: a standard one and a VIP, neither with an open order over 500 EUR nor an urgent ticket. */
const CUSTOMERS = [{ id: '38', label: 'standard customer 38' }, { id: '145', label: 'VIP customer 145' }];

async function json(res: Response): Promise<Record<string, any>> {
  const body = (await res.json()) as Record<string, any>;
  if (!res.ok) throw new Error(`${res.url}: ${res.status} ${body.detail ?? JSON.stringify(body)}`);
  return body;
}

/** A chat started by a verified customer, as the shop's widget would (the site's server signed the customer id). */
async function startAs(customerId: string, subject: string): Promise<string> {
  const session = await json(await fetch(`${base}/v1/widget/sessions`, {
    method: 'POST', headers: { 'x-widget-key': args['widget-key']!, 'content-type': 'application/json' },
    body: JSON.stringify({ customerId, customerHmac: customerHmac(args['identity-secret']!, customerId) }),
  }));
  const visitor = { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' };
  const started = await json(await fetch(`${base}/v1/conversations`, { method: 'POST', headers: visitor, body: JSON.stringify({ subject }) }));
  const conversationId = String(started.conversationId);
  // With a bot (the demo's built-in one), the chat starts with it: the customer asks for a person, and it is queued.
  const state = await json(await fetch(`${base}/v1/conversations/${conversationId}`, { headers: visitor }));
  if (state.status === 'bot') await json(await fetch(`${base}/v1/conversations/${conversationId}/handover`, { method: 'POST', headers: visitor, body: '{}' }));
  return conversationId;
}

const api = async (path: string) => json(await fetch(`${base}${path}`, { headers: { 'x-api-key': args['api-key']! } }));

async function decisionOf(conversationId: string): Promise<Record<string, any>> {
  for (let tries = 0; tries < 100; tries++) {
    const routing = await api(`/v1/conversations/${conversationId}/routing`);
    if (routing.decision) return routing.decision as Record<string, any>;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`conversation ${conversationId} was not routed within 10 s`);
}

const ids: string[] = [];
for (const [i, customer] of CUSTOMERS.entries()) {
  ids.push(await startAs(customer.id, i === 0 ? 'password reset' : 'question about my order'));
  const decision = await decisionOf(ids[i]!);
  const fired = (decision.outcomes as { rule: string; outcome: string }[]).filter((o) => o.outcome === 'fired').map((o) => o.rule);
  out(`${customer.label}: conversation ${ids[i]} → group ${decision.group}, priority ${decision.priority} (tier ${String(decision.facts['customer.tier'])}; rules fired: ${fired.join(', ') || 'none'}${decision.missing.length > 0 ? `; missing: ${decision.missing.join(', ')}` : ''})`);
}
const queues = await api('/v1/queues');
for (const q of queues.queues ?? []) if (q.queued > 0) out(`queue ${q.group}: ${q.queued} waiting`);
out(`The VIP arrived second but waits first. Why: curl -s -H 'X-Api-Key: ${args['api-key']}' ${base}/v1/conversations/${ids[1]}/routing`);
out('An agent who comes online now (the "Chat as agent ada" line printed by ./dev demo) is offered the VIP\'s chat before the standard customer\'s.');
