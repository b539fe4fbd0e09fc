import type { Actor } from '../chat/conversation.types.ts';
import type { QueryResult } from '../query/query.service.ts';

/**
 * One business record, as lineage names it: the system it lives in (a connector manifest's
 * `system`: `orders`, `crm`, `tickets`), its kind, and its id there. `GET /v1/lineage/{system}/{id}`.
 */
export interface BusinessKey {
  readonly system: string;
  /** `order`, `customer`, `ticket`, `product`, `requester` … (a connector's `businessKeys[].type`). */
  readonly type: string;
  readonly id: string;
}

/**
 * Who asked for a call on behalf of which conversation: the query API's `X-Conversation-Id` (an
 * agent or supervisor who takes part in it), the sidebar, or the bot's own calls. Attached to
 * `CallOptions.conversation`; the query service records lineage for every attributed call and
 * puts the conversation id on its spans.
 */
export interface ConversationAttribution {
  readonly conversationId: string;
  /** The message (its seq in the conversation) the call was made for, when there is one: a bot's answer to it, an agent's look-up while reading it. */
  readonly messageSeq?: number;
  /** Who asked: the bot (`{kind:'bot', id:'builtin'}`), an agent, a supervisor (kind `agent`). */
  readonly actor: Actor;
  /** Why, in a few words, for the trace: `bot.order_status`, `sidebar`, `console`. */
  readonly purpose?: string;
  /** What of the answer is shown, and to whom (`status only, to an anonymous visitor`): kept as the entry's `shown`. */
  readonly shown?: Shown;
}

/**
 * What of a call's answer is shown, and to whom: a fixed text, or one the caller decides from the
 * answer itself (whose order it is decides what of it the visitor sees), so one read both decides
 * and is recorded truly. The function is evaluated once, when the call has answered (ok or stale);
 * a call that failed showed nothing and records no `shown`.
 */
export type Shown = string | ((result: QueryResult) => string);

/** What one attributed call did: written once per call (after it ends, failed or not). */
export interface LineageEntry {
  /** Unique; `lin_<uuid>`. */
  readonly id: string;
  /** RFC 3339, when the call ended. */
  readonly at: string;
  readonly conversationId: string;
  readonly messageSeq?: number;
  readonly actor: Actor;
  readonly purpose?: string;
  readonly capability: string;
  /** `read` for a query capability, `write` for a command. */
  readonly access: 'read' | 'write';
  /** The connector that served it and its version (absent when none was reached). */
  readonly connector?: string;
  readonly version?: string;
  readonly system?: string;
  /** The backend call as the gateway saw it. */
  readonly outcome: {
    readonly status: 'ok' | 'stale' | 'error';
    /** The problem code, when not ok (for `stale`: why the live call failed). */
    readonly code?: string;
    readonly latencyMs: number;
    /** The breaker's state for this capability right after the call: `closed` | `open` | `halfOpen`. */
    readonly breaker?: string;
    /** For `stale`: the age of the answer shown. */
    readonly staleAgeMs?: number;
  };
  /** The records read or written: found in the result by the connector's `businessKeys`, plus the ones named in the params. */
  readonly keys: readonly BusinessKey[];
  /** What was shown and to whom, when the caller says (the bot: `status only, to an anonymous visitor`). */
  readonly shown?: string;
  /** W3C trace id of the call: opens in Jaeger. */
  readonly traceId: string;
}

/** What the bot made of one visitor message: the first step of that message's trace. */
export interface UnderstandingEntry {
  readonly id: string;
  readonly at: string;
  readonly conversationId: string;
  readonly messageSeq: number;
  readonly actor: Actor;
  readonly intent: string;
  readonly confidence?: number;
  readonly entities: Readonly<Record<string, readonly string[]>>;
  readonly traceId: string;
}
