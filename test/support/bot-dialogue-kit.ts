// An in-process stand-in for the query API behind the built-in bot's unit tests: the three systems'
// records as plain data, the same error codes the query service throws (NOT_FOUND, a source down),
// stale answers, and every call recorded with what the bot said it would show.
import { createHash } from 'node:crypto';
import { AppError, type ErrorCode } from '../../src/kernel/errors.ts';
import type { AttributedQueries, BotInput, BotReply } from '../../src/modules/bot/bot.types.ts';
import { createDialogueBot } from '../../src/modules/bot/builtin/builtin-bot.ts';
import type { DialogueMemory, DialogueState, Lang } from '../../src/modules/bot/builtin/dialogue.types.ts';
import type { Understand } from '../../src/modules/bot/nlu.types.ts';
import type { UnderstandingEntry } from '../../src/modules/lineage/lineage.types.ts';
import type { ConversationEvent, ConversationState } from '../../src/modules/chat/conversation.types.ts';
import type { QueryResult } from '../../src/modules/query/query.service.ts';

export interface KitOrder {
  readonly id: string;
  readonly customerRef: string;
  readonly status: string;
  readonly createdAt: string;
  readonly total: { readonly amount: string; readonly currency: string };
  readonly lines: readonly { readonly sku: string; readonly name: string; readonly quantity: number; readonly unitPrice: unknown; readonly lineTotal: unknown }[];
}

const money = (amount: string) => ({ amount, currency: 'EUR' });
export const order = (id: string, customerRef: string, status: string, sku = 'SKU-DK-05', name = 'Docking station'): KitOrder => ({
  id, customerRef, status, createdAt: '2026-11-20T10:00:00Z', total: money('129.00'),
  lines: [{ sku, name, quantity: 1, unitPrice: money('129.00'), lineTotal: money('129.00') }],
});

export interface Call { readonly capability: string; readonly params: Record<string, unknown>; readonly shown: string | undefined }

/** The sample world: customer 42 (orders C-1, ada@example.com), customer 43 (orders C-2, bob@example.com), customer 44 (a name only). */
export function createKitQueries() {
  const orders = new Map<string, KitOrder>([
    ['ORD-0000001', order('ORD-0000001', 'C-1', 'shipped')],
    ['ORD-0000002', order('ORD-0000002', 'C-1', 'delivered', 'SKU-MN-04', '27" monitor')],
    ['ORD-0000003', order('ORD-0000003', 'C-2', 'paid')],
  ]);
  // 44: a customer master that knows only an id and a name (no email, no ids in other systems).
  const customers: { id: string; displayName?: string; email?: string; externalIds?: Record<string, string> }[] = [
    { id: '42', email: 'ada@example.com', externalIds: { orders: 'C-1', tickets: 'u_ada' } },
    { id: '43', email: 'bob@example.com', externalIds: { orders: 'C-2', tickets: 'u_bob' } },
    { id: '44', displayName: 'George Franklin' },
  ];
  const tickets = new Map<string, { id: string; params: Record<string, unknown> }>();
  const down = new Map<string, ErrorCode>();
  const stale = new Map<string, number>();
  const calls: Call[] = [];
  const systemOf = (capability: string) => (capability.startsWith('order.') ? 'orders' : capability.startsWith('customer.') ? 'crm' : 'tickets');

  function answer(capability: string, params: Record<string, unknown>): unknown {
    switch (capability) {
      case 'order.get': {
        const found = orders.get(String(params.id));
        if (!found) throw new AppError('NOT_FOUND', `no order ${String(params.id)}`);
        return found;
      }
      case 'order.list':
        return { items: [...orders.values()].filter((o) => o.customerRef === params.customerRef).slice(0, Number(params.pageSize ?? 20)), page: { page: 1 } };
      case 'customer.get': {
        const found = customers.find((c) => c.id === params.id);
        if (!found) throw new AppError('NOT_FOUND', `no customer ${String(params.id)}`);
        return found;
      }
      case 'customer.list':
        return { items: customers.filter((c) => c.email?.toLowerCase() === String(params.email).toLowerCase()), page: { page: 1 } };
      case 'requester.ensure':
        return { id: `u_${createHash('sha256').update(String(params.email).toLowerCase()).digest('hex').slice(0, 8)}`, email: params.email, created: false };
      case 'ticket.create': {
        const key = String(params.idempotencyKey ?? Math.random());
        const made = tickets.get(key) ?? { id: `TCK-${String(100 + tickets.size)}`, params };
        tickets.set(key, made);
        return { id: made.id };
      }
      default:
        throw new AppError('UNKNOWN_CAPABILITY', capability);
    }
  }

  const queries: AttributedQueries = {
    attribution: { conversationId: 'c-1', actor: { kind: 'bot', id: 'builtin' } },
    async call(capability, params, options) {
      const shown = options?.shown;
      const call = { capability, params, shown: typeof shown === 'string' ? shown : undefined };
      calls.push(call);
      const source = { connector: systemOf(capability), version: '1.0.0', system: systemOf(capability), latencyMs: 1 };
      const code = down.get(systemOf(capability));
      const ageMs = stale.get(capability);
      if (code !== undefined && ageMs === undefined) throw new AppError(code, `${systemOf(capability)} is down`);
      const data = structuredClone(answer(capability, params));
      const fresh: QueryResult = { capability, data, source };
      const result: QueryResult = ageMs === undefined ? fresh : { ...fresh, stale: true, staleness: { ageMs, storedAt: new Date(Date.now() - ageMs).toISOString(), reason: { code: 'UPSTREAM_UNAVAILABLE', detail: 'down' } } };
      // What was shown, told from the answer as the lineage recorder tells it (a failed call: none).
      if (typeof shown === 'function') calls[calls.indexOf(call)] = { ...call, shown: shown(result) };
      return result;
    },
  };
  return { queries, calls, orders, tickets, down, stale };
}

export function createKitMemory(): DialogueMemory & { readonly states: Map<string, DialogueState> } {
  const states = new Map<string, DialogueState>();
  return {
    states,
    async load(id) { const s = states.get(id); return s === undefined ? undefined : structuredClone(s); },
    async save(id, state) { states.set(id, structuredClone(state)); },
  };
}

/** A conversation with a visitor (verified as `customerId` when given) sending texts one by one. */
export function createKitConversation(queries: AttributedQueries, customerId?: string) {
  const said: ConversationEvent[] = [];
  let seq = 3;
  const state: ConversationState = {
    status: 'bot', seq: 2, messageCount: 0, readUpTo: {}, deliveredUpTo: {},
    visitor: { id: 'v-1', site: 'shop', ...(customerId === undefined ? {} : { customerId }) },
  };
  return {
    input(text: string, again = false): BotInput {
      if (!again) seq += 2;
      const message = {
        type: 'conversation.message_sent', seq, id: `e-${seq}`, at: '2026-12-02T10:00:00.000Z', by: { kind: 'visitor', id: 'v-1' }, visibility: 'public',
        data: { messageId: `m-${seq}`, author: { kind: 'visitor', id: 'v-1' }, visibility: 'public', contentType: 'text', text },
      } as const;
      const earlier = [...said];
      if (!again) said.push(message);
      return { conversationId: 'c-1', state: { ...state, seq }, message, earlier: async () => earlier, queries, traceId: '0'.repeat(32) };
    },
  };
}

/** What the rig's bot understands with: the project's real understanding and FAQ (config/bot). */
export interface KitKnowledge {
  readonly understand: Understand;
  faq(id: string, lang: Lang): string | undefined;
}

/**
 * The built-in bot over the kit's world, for a visitor verified as `customerId` when given: `say`
 * one message after another; every call, ticket and understanding is kept for the test to read.
 */
export function createKitBot(knowledge: KitKnowledge, customerId?: string) {
  const kit = createKitQueries();
  const memory = createKitMemory();
  const products = [{ sku: 'SKU-DK-05', name: 'Docking station' }, { sku: 'SKU-MN-04', name: '27" monitor' }];
  // Routing's keyword classification is bot-core's; here it shows what the bot hands it.
  const classified: [readonly string[], string | undefined][] = [];
  const classify = (said: readonly string[], language: string | undefined) => {
    classified.push([said, language]);
    return { intent: 'orders', ...(language === undefined ? {} : { language }) };
  };
  const understood: UnderstandingEntry[] = [];
  const bot = createDialogueBot({
    understand: knowledge.understand, memory, classify, understood: async (entry) => void understood.push(entry),
    catalogue: { products: () => products, refreshedAt: () => 0 },
    faq: (id, lang) => knowledge.faq(id, lang),
  });
  const talk = createKitConversation(kit.queries, customerId);
  const say = (t: string) => bot.reply(talk.input(t));
  return { ...kit, memory, bot, talk, say, classified, understood };
}

/** Everything a reply says, its messages one per line. */
export const saidIn = (reply: BotReply): string => (reply.kind === 'nothing' ? '' : (reply.messages ?? []).map((m) => (m.contentType === 'text' ? m.text : '')).join('\n'));
