import { AppError, isAppError } from '../../kernel/errors.ts';
import type { Principal } from '../../kernel/principal.ts';
import type { Conversations } from '../chat/conversations.service.ts';
import { participant } from '../chat/visibility.ts';
import type { ConversationAttribution } from '../lineage/lineage.types.ts';

/** The header that names the conversation a query is made for. */
export const CONVERSATION_ID_HEADER = 'X-Conversation-Id';
/** What a conversation id looks like (as the chat API's path parameter). */
export const CONVERSATION_ID_PATTERN = /^[A-Za-z0-9._:-]{1,100}$/;

/** Turns a request's `X-Conversation-Id` into the attribution its query calls carry, or refuses it. */
export interface ConversationAttributor {
  /**
   * The attribution for a read of the query API by `p` with this header value (undefined: none
   * sent, and `p` may read without one). Throws VALIDATION_FAILED for a malformed id,
   * NOT_A_PARTICIPANT for a conversation `p` takes no part in (another agent's, one that does
   * not exist, any with a service key), FORBIDDEN for an agent (not a supervisor) without one.
   */
  forRead(p: Principal, header: string | undefined): Promise<ConversationAttribution | undefined>;
}

export interface ConversationAttributorDeps {
  readonly conversations: Pick<Conversations, 'get'>;
}

const isSupervisor = (p: Principal): boolean => p.kind === 'agent' && p.roles.includes('supervisor');

/**
 * The X-Conversation-Id rule of the query API: an id is accepted from the agent the conversation
 * is assigned to and from supervisors, never from a service key (which acts for no conversation),
 * so lineage cannot be forged. Agents read the query API only for a conversation they take part
 * in; supervisors and service keys may read without one.
 */
export function createConversationAttributor(deps: ConversationAttributorDeps): ConversationAttributor {
  return {
    async forRead(p, header) {
      if (header === undefined) {
        if (p.kind === 'agent' && !isSupervisor(p)) {
          throw new AppError('FORBIDDEN', `an agent token reads the query API only for a conversation assigned to it: send its id in ${CONVERSATION_ID_HEADER}`);
        }
        return undefined;
      }
      if (!CONVERSATION_ID_PATTERN.test(header)) {
        const message = `${CONVERSATION_ID_HEADER} must be a conversation id: 1 to 100 letters, digits and . _ : -`;
        throw new AppError('VALIDATION_FAILED', `header: ${message}`, { errors: [{ in: 'header', pointer: `/${CONVERSATION_ID_HEADER}`, message }] });
      }
      if (p.kind !== 'agent') {
        throw new AppError('NOT_A_PARTICIPANT', `an API key acts for no conversation: ${CONVERSATION_ID_HEADER} is for the agent assigned to it and supervisors`, { conversationId: header });
      }
      let state;
      try {
        state = await deps.conversations.get(p, header);
      } catch (err) {
        if (isAppError(err) && err.code === 'NOT_FOUND') throw new AppError('NOT_A_PARTICIPANT', `there is no conversation ${header} to act for`, { conversationId: header });
        throw err;
      }
      if (!participant(p, state)) {
        throw new AppError('NOT_A_PARTICIPANT', `agent ${p.agentId} takes no part in conversation ${header}: it is not assigned to it`, { conversationId: header });
      }
      return { conversationId: header, actor: { kind: 'agent', id: p.agentId }, purpose: 'console' };
    },
  };
}
