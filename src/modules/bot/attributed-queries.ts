import type { Logger } from '../../kernel/logger.ts';
import type { TraceContext } from '../../kernel/trace.ts';
import type { ConversationAttribution } from '../lineage/lineage.types.ts';
import type { QueryService } from '../query/query.service.ts';
import type { AttributedQueries } from './bot.types.ts';

/** What attributed calls for one message share: the trace and log of its handling, and who asks for which message. */
export interface AttributedQueriesDeps {
  /** The query service as the gateway wires it (the lineage recorder around it records attributed calls). */
  readonly query: QueryService;
  readonly attribution: ConversationAttribution;
  readonly trace: TraceContext;
  readonly log: Logger;
  readonly signal?: AbortSignal;
}

/**
 * The query API for a bot's answer to one message: every call carries
 * `CallOptions.conversation` (the conversation, the message's seq, the bot as actor, a purpose,
 * and what will be shown), so lineage and spans know what the call was for. A call's own
 * `purpose` overrides the default one (`bot.order_status` rather than `bot`).
 */
export function createAttributedQueries(deps: AttributedQueriesDeps): AttributedQueries {
  const { query, attribution, trace, log, signal } = deps;
  return {
    attribution,
    call(capability, params, options = {}) {
      const conversation: ConversationAttribution = {
        ...attribution,
        ...(options.purpose === undefined ? {} : { purpose: options.purpose }),
        ...(options.shown === undefined ? {} : { shown: options.shown }),
      };
      return query.call(capability, params, { trace, log, conversation, ...(signal === undefined ? {} : { signal }) });
    },
  };
}
