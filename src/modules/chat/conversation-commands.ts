import { AppError, isAppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { Principal } from '../../kernel/principal.ts';
import type { ConversationExecutor, Outcome } from './conversation-executor.ts';
import type { Actor, ConversationCommand, ConversationState, DeciderCommand } from './conversation.types.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { LeftMessages } from './left-messages.ts';
import { actorOf, assertMaySee } from './visibility.ts';

/** Who dispatch acts as on a conversation's stream. */
export const DISPATCH_ACTOR: Actor = { kind: 'system', id: 'dispatch' };

/**
 * What dispatch appends to a conversation (`Conversations.dispatch`): its decision, its offers and
 * their ends, overflows, the ticket of a left message, and the `assigned` of an offer it accepted
 * already (auto-assign, or the re-append of an accepted offer a dead node did not record).
 */
export type DispatchCommand =
  | Extract<DeciderCommand, { type: 'route' | 'offer' | 'end_offer' | 'overflow' | 'ticket_opened' }>
  | { readonly type: 'accept'; readonly agentId: string; readonly offerId: string };

const DISPATCH_COMMANDS: ReadonlySet<string> = new Set(['route', 'offer', 'end_offer', 'overflow', 'ticket_opened', 'accept']);

/** The client id an offer's `assigned` is appended under, whoever appends it: the node that accepted, or a sweeper after it died. */
export const offerClientId = (offerId: string): string => `offer:${offerId}`;

export interface ConversationCommandsDeps {
  readonly executor: ConversationExecutor;
  readonly dispatcher: Dispatcher;
  readonly messages?: LeftMessages;
  readonly log: Logger;
}

/** The state commands, with what dispatch must know before or beside the append (claims, declines, left messages). */
export interface ConversationCommands {
  command(p: Principal, conversationId: string, command: ConversationCommand, clientId?: string): Promise<Outcome>;
  dispatch(conversationId: string, command: DispatchCommand, clientId?: string): Promise<Outcome>;
}

const isSupervisor = (p: Principal): boolean => p.kind === 'agent' && p.roles.includes('supervisor');

export function createConversationCommands({ executor, dispatcher, messages, log }: ConversationCommandsDeps): ConversationCommands {
  const plain = (p: Principal, conversationId: string, command: DeciderCommand, clientId?: string): Promise<Outcome> =>
    executor.execute(conversationId, actorOf(p), () => [command], { principal: p, ...(clientId === undefined ? {} : { clientId }) });

  /** The state p sees (NOT_FOUND otherwise), read from the store: what a side effect before the append is decided on. */
  async function visible(p: Principal, conversationId: string): Promise<ConversationState> {
    const state = await executor.load(conversationId);
    assertMaySee(p, conversationId, state);
    return state;
  }

  /** A refusal before the append: the answer of an earlier append of the same command if there was one (a retry), else the refusal. */
  async function refusedOrRepeated(err: unknown, conversationId: string, clientIds: readonly (string | undefined)[]): Promise<Outcome> {
    if (!isAppError(err) || err.code === 'NOT_FOUND' || err.code === 'FORBIDDEN') throw err;
    for (const clientId of clientIds) {
      const seen = clientId === undefined ? undefined : await executor.appendedBefore(conversationId, clientId);
      if (seen !== undefined) return { seq: seen, duplicate: true };
    }
    throw err;
  }

  /**
   * An agent takes the conversation (accept, transfer to it): dispatch claims it first (capacity,
   * the offer still open), then the `assigned` is appended under the claim's offer id, so the append
   * is idempotent whoever repeats it; a refused append gives the claim back.
   */
  async function claimed(p: Principal, conversationId: string, state: ConversationState, claim: { agentId: string; offerId?: string; force: boolean }, commandOf: (offerId?: string) => DeciderCommand, clientId?: string): Promise<Outcome> {
    const actor = actorOf(p);
    const tried = [clientId, claim.offerId === undefined ? undefined : offerClientId(claim.offerId)];
    let offerId = claim.offerId;
    try {
      executor.decideOn(state, actor, commandOf(offerId)); // refused here, nothing is claimed
      offerId = (await dispatcher.claim(conversationId, state, claim)).offerId ?? offerId;
    } catch (err) {
      // A retry (same client id) of the accept that made it this agent's: its append went under the claim's id.
      if (clientId !== undefined && isAppError(err) && err.code === 'CONVERSATION_ALREADY_ASSIGNED' && state.agentId === claim.agentId) return { seq: state.sinceSeq ?? state.seq, duplicate: true };
      return refusedOrRepeated(err, conversationId, tried);
    }
    const appendAs = offerId === undefined ? clientId : offerClientId(offerId);
    try {
      return await executor.execute(conversationId, actor, () => [commandOf(offerId)], { principal: p, ...(appendAs === undefined ? {} : { clientId: appendAs }) });
    } catch (err) {
      // Refused, nothing appended: the claim goes back. A store that failed may have appended it: dispatch's sweeper completes or releases it.
      if (offerId !== undefined && isAppError(err) && err.code !== 'STORE_UNAVAILABLE' && err.code !== 'INTERNAL') {
        await dispatcher.unclaim(conversationId, claim.agentId, offerId).catch((cause: unknown) => log.warn({ err: cause, conversationId, offerId }, 'dispatcher could not give a claim back'));
      }
      throw err;
    }
  }

  async function accept(p: Principal, conversationId: string, command: Extract<ConversationCommand, { type: 'accept' }>, clientId?: string): Promise<Outcome> {
    const agentId = p.kind === 'agent' ? p.agentId : command.agentId;
    // A visitor, or a service that names no agent: the table refuses it.
    if (p.kind === 'visitor' || agentId === undefined) return plain(p, conversationId, command, clientId);
    const state = await visible(p, conversationId);
    const claim = { agentId, force: false, ...(command.offerId === undefined ? {} : { offerId: command.offerId }) };
    return claimed(p, conversationId, state, claim, (offerId) => ({ ...command, ...(offerId === undefined ? {} : { offerId }) }), clientId);
  }

  /** An agent transfers a conversation assigned to itself; a supervisor any (past the agent's capacity); a service any. */
  async function transfer(p: Principal, conversationId: string, command: Extract<ConversationCommand, { type: 'transfer' }>, clientId?: string): Promise<Outcome> {
    const { offerId: _set, ...asked } = command; // the offer id is the claim's, never the caller's
    if (p.kind === 'visitor') return plain(p, conversationId, asked, clientId);
    const state = await visible(p, conversationId);
    if (p.kind === 'agent' && !isSupervisor(p) && state.agentId !== p.agentId) {
      throw new AppError('FORBIDDEN', 'an agent transfers only a conversation assigned to itself (a supervisor any)', { command: 'transfer' });
    }
    const { to } = asked;
    if (!('agentId' in to)) return plain(p, conversationId, asked, clientId);
    return claimed(p, conversationId, state, { agentId: to.agentId, force: isSupervisor(p) }, (offerId) => ({ ...asked, ...(offerId === undefined ? {} : { offerId }) }), clientId);
  }

  /**
   * The decline is recorded first (the offer on record must be this agent's: OFFER_EXPIRED otherwise),
   * then dispatch gives the conversation back to the queue and offers it on. In this order dispatch's
   * next offer can never be recorded before the decline it follows. A repeat records nothing and tells
   * dispatch again (a node that died in between); an offer dispatch had already ended is ended either way.
   */
  async function decline(p: Principal, conversationId: string, command: Extract<ConversationCommand, { type: 'decline' }>, clientId?: string): Promise<Outcome> {
    if (p.kind !== 'agent') return plain(p, conversationId, command, clientId);
    const outcome = await plain(p, conversationId, command, clientId ?? `decline:${command.offerId}`);
    try {
      await dispatcher.decline(conversationId, p.agentId, command.offerId);
    } catch (err) {
      if (!isAppError(err) || err.code !== 'OFFER_EXPIRED') throw err;
      log.debug({ conversationId, offerId: command.offerId }, 'declined an offer dispatch had ended already');
    }
    return outcome;
  }

  /** The message becomes a ticket through a job (made first, idempotent by the conversation), then it is recorded and the conversation closes. */
  async function leaveMessage(p: Principal, conversationId: string, command: Extract<ConversationCommand, { type: 'leave_message' }>, clientId?: string): Promise<Outcome> {
    const { ticketJobId: _set, ...asked } = command; // the job id is the service's, never the caller's
    if (p.kind === 'agent') return plain(p, conversationId, asked, clientId); // refused by the table
    const state = await visible(p, conversationId);
    try {
      executor.decideOn(state, actorOf(p), { ...asked, ticketJobId: 'check' }); // refused here, no job is made
    } catch (err) {
      return refusedOrRepeated(err, conversationId, [clientId]);
    }
    if (messages === undefined) {
      throw new AppError('INVALID_TRANSITION', 'no tickets are made of left messages here (no tickets connector is configured)', { state: state.status, command: 'leave_message' });
    }
    const ticketJobId = await messages.enqueue(conversationId, state, { text: asked.text, ...(asked.email === undefined ? {} : { email: asked.email }) });
    return plain(p, conversationId, { ...asked, ticketJobId }, clientId ?? `message:${ticketJobId}`);
  }

  return {
    command(p, conversationId, command, clientId) {
      switch (command.type) {
        case 'accept': return accept(p, conversationId, command, clientId);
        case 'transfer': return transfer(p, conversationId, command, clientId);
        case 'decline': return decline(p, conversationId, command, clientId);
        case 'leave_message': return leaveMessage(p, conversationId, command, clientId);
        default: return plain(p, conversationId, command, clientId);
      }
    },

    async dispatch(conversationId, command, clientId) {
      if (!DISPATCH_COMMANDS.has(command.type)) throw new AppError('FORBIDDEN', `dispatch may not ${command.type} a conversation`, { command: command.type });
      const appendAs = clientId ?? (command.type === 'accept' ? offerClientId(command.offerId) : undefined);
      return executor.execute(conversationId, DISPATCH_ACTOR, () => [command], appendAs === undefined ? {} : { clientId: appendAs });
    },
  };
}
