import { AppError, ERROR_CATALOGUE, toAppError } from '../../kernel/errors.ts';
import type { Principal } from '../../kernel/principal.ts';
import type { BotFindings } from '../bot/bot.types.ts';
import type { ContextPart, ContextService } from '../query/context.service.ts';
import type { CallOptions } from '../query/query.service.ts';
import type { Conversations } from './conversations.service.ts';
import { NO_VERIFIED_CUSTOMER, partMessage, type SidebarPartName } from './sidebar-messages.ts';
import { actorOf } from './visibility.ts';

/** One part of the sidebar: the customer context's part, or `none` (no verified customer), with a sentence for the agent unless `ok`. */
export type SidebarPart = (Omit<ContextPart, 'status'> & { readonly status: ContextPart['status'] | 'none' }) & { readonly message?: string };

/** What the agent's sidebar shows for a conversation: its customer's context and what the bot found. */
export interface ConversationContext {
  readonly conversationId: string;
  /** The verified customer of the conversation (customer-master id), or null for an anonymous visitor. */
  readonly customerId: string | null;
  /** Said plainly when there is no verified customer. */
  readonly message?: string;
  /** True when every part is `ok`. */
  readonly complete: boolean;
  readonly parts: Readonly<Record<SidebarPartName, SidebarPart>>;
  /** What the bot found before it handed over, or null when it found nothing (or there was no bot). */
  readonly botFindings: BotFindings | null;
}

export interface Sidebar {
  /**
   * The sidebar of one conversation, for the agent it is assigned to, a supervisor or a service;
   * NOT_FOUND for anyone else (as if it did not exist), FORBIDDEN for a visitor. Its calls are
   * attributed to the conversation (purpose `sidebar`), so lineage records them.
   */
  contextOf(p: Principal, conversationId: string, limits: { orders: number; tickets: number }, options: Omit<CallOptions, 'conversation'>): Promise<ConversationContext>;
}

export interface SidebarDeps {
  readonly conversations: Pick<Conversations, 'get'>;
  readonly context: ContextService;
}

const PART_NAMES: readonly SidebarPartName[] = ['customer', 'orders', 'openTickets'];

/** The sidebar is staff's; an agent sees only the conversations assigned to it (a supervisor all). */
function assertMayRead(p: Principal, conversationId: string, agentId: string | undefined): void {
  if (p.kind === 'visitor') throw new AppError('FORBIDDEN', 'the sidebar is for staff: a visitor token cannot read a conversation\'s customer context');
  if (p.kind === 'agent' && !p.roles.includes('supervisor') && agentId !== p.agentId) throw new AppError('NOT_FOUND', `no conversation ${conversationId}`);
}

const withMessage = (name: SidebarPartName, part: ContextPart): SidebarPart => {
  const message = partMessage(name, part);
  return message === undefined ? part : { ...part, message };
};

export function createSidebar(deps: SidebarDeps): Sidebar {
  return {
    async contextOf(p, conversationId, limits, options) {
      if (p.kind === 'visitor') assertMayRead(p, conversationId, undefined);
      const state = await deps.conversations.get(p, conversationId);
      assertMayRead(p, conversationId, state.agentId);
      const botFindings = state.botFindings ?? null;
      const customerId = state.visitor?.customerId;
      if (customerId === undefined) {
        const none = (name: SidebarPartName): SidebarPart => ({ status: 'none', latencyMs: 0, message: NO_VERIFIED_CUSTOMER[name] });
        return { conversationId, customerId: null, message: NO_VERIFIED_CUSTOMER.conversation, complete: false, parts: { customer: none('customer'), orders: none('orders'), openTickets: none('openTickets') }, botFindings };
      }
      const conversation = { conversationId, actor: actorOf(p), purpose: 'sidebar' };
      try {
        const found = await deps.context.customerContext(customerId, limits, { ...options, conversation });
        const parts = Object.fromEntries(PART_NAMES.map((name) => [name, withMessage(name, found.parts[name])])) as Record<SidebarPartName, SidebarPart>;
        return { conversationId, customerId, complete: found.complete, parts, botFindings };
      } catch (err) {
        // The conversation exists; only its customer is unknown to the CRM (deleted since it was verified).
        const error = toAppError(err);
        if (error.code !== 'NOT_FOUND') throw error;
        const failed = (code: 'NOT_FOUND', status: 'error' | 'skipped', detail: string): ContextPart => ({ status, latencyMs: 0, error: { code, detail, retryable: ERROR_CATALOGUE[code].retryable } });
        const parts = {
          customer: withMessage('customer', failed('NOT_FOUND', 'error', error.message)),
          orders: { ...failed('NOT_FOUND', 'skipped', 'orders skipped: the customer is unknown to the CRM'), message: 'No orders to show: the customer is unknown to the CRM' },
          openTickets: { ...failed('NOT_FOUND', 'skipped', 'tickets skipped: the customer is unknown to the CRM'), message: 'No tickets to show: the customer is unknown to the CRM' },
        };
        return { conversationId, customerId, complete: false, parts, botFindings };
      }
    },
  };
}
