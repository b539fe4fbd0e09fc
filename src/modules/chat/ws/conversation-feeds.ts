import { isAppError, toAppError } from '../../../kernel/errors.ts';
import type { Logger } from '../../../kernel/logger.ts';
import type { Principal } from '../../../kernel/principal.ts';
import type { Actor, ConversationEvent } from '../conversation.types.ts';
import { eventFrame, frame } from './frames.ts';
import type { Session, WsConversations } from './ws.types.ts';

/** Live events a feed holds while it reads from the store; past this it drops them and reads them back. */
const MAX_WAITING = 1_000;

/** Where one socket stands in one conversation: every seq up to `lastSeq` was sent (or is not its to see). */
interface Feed {
  readonly session: Session;
  readonly conversationId: string;
  lastSeq: number;
  /** Live events waiting while a read from the store runs: written in order after it (an array only while some wait). */
  waiting: { seq: number; data: Buffer | undefined }[] | undefined;
  busy: boolean;
  /** Events may have been missed (the fan-out resubscribed): read up to the head once idle. */
  stale: boolean;
  gone: boolean;
}

/** The conversations the sockets of this node follow, and the delivery of their events in seq order. */
export interface ConversationFeeds {
  /** Follows a conversation after `afterSeq`: `subscribed`, the events since, then live ones. */
  subscribe(session: Session, conversationId: string, afterSeq: number, frameId: string): Promise<void>;
  unsubscribe(session: Session, conversationId: string): boolean;
  /** Drops every feed of a closed socket. */
  drop(session: Session): void;
  isFollowing(session: Session, conversationId: string): boolean;
  /** One stored event from the fan-out (any node; this node's own appends may come twice): framed once, written once to every socket that may see it, its author's last. */
  onEvent(conversationId: string, seq: number, json: string): void;
  /** The sockets following a conversation (typing signals). */
  followers(conversationId: string): Iterable<Session>;
  /** The conversations that some socket of this kind (a visitor's, say) follows on this node. */
  followedBy(kind: Session['principal']['kind']): string[];
  /** After the fan-out's subscription came back: each feed reads what it may have missed. */
  catchUpAll(): void;
}

/** Whether the principal is the event's author. */
const isAuthor = (p: Principal, by: Actor): boolean =>
  p.kind === 'visitor' ? by.kind === 'visitor' && by.id === p.visitorId : p.kind === 'agent' && by.kind === 'agent' && by.id === p.agentId;

export interface ConversationFeedsDeps {
  readonly conversations: Pick<WsConversations, 'history' | 'get' | 'visibleTo'>;
  readonly log: Logger;
  /** Events per history read. */
  readonly historyPage: number;
  /** A catch-up waits for the client to read once this many bytes are unread (below the slow-consumer bound). */
  readonly pauseAtBytes: number;
}

export function createConversationFeeds(deps: ConversationFeedsDeps): ConversationFeeds {
  // A conversation has few followers on a node (its visitor, an agent, a supervisor): an array of
  // them costs a socket far less than a Map per conversation.
  const byConversation = new Map<string, Feed[]>();
  /** The conversations each session follows here: closing a socket visits those, not every conversation of the node. */
  const followed = new WeakMap<Session, string[]>();
  const feedOf = (session: Session, conversationId: string) => byConversation.get(conversationId)?.find((f) => f.session === session);
  const log = deps.log;

  /** Sends the stored events after feed.lastSeq, up to `untilSeq` (or the head), page by page. */
  async function readStore(feed: Feed, untilSeq?: number): Promise<void> {
    const { session, conversationId } = feed;
    for (;;) {
      const range = { afterSeq: feed.lastSeq, limit: deps.historyPage, ...(untilSeq === undefined ? {} : { untilSeq }) };
      const page = await deps.conversations.history(session.principal, conversationId, range);
      if (feed.gone) return;
      for (const event of page.events) {
        if (event.seq <= feed.lastSeq) continue;
        // Paced by the client: a catch-up never fills the buffer past the slow-consumer bound by itself.
        if (session.bufferedAmount > deps.pauseAtBytes) await session.drain();
        if (feed.gone) return;
        session.send(eventFrame(conversationId, JSON.stringify(event)));
        feed.lastSeq = event.seq;
      }
      // `lastSeq` is the last seq read, seen or not: events this principal may not see move the feed on too.
      feed.lastSeq = Math.max(feed.lastSeq, page.lastSeq);
      if (!page.hasMore) return;
    }
  }

  /** Runs `work` with the feed marked busy, then writes the live events that waited meanwhile. */
  async function exclusive(feed: Feed, work: () => Promise<void>): Promise<void> {
    feed.busy = true;
    try {
      await work();
      while ((feed.waiting !== undefined || feed.stale) && !feed.gone) {
        if (feed.waiting === undefined) {
          feed.stale = false;
          await readStore(feed);
          continue;
        }
        const next = feed.waiting.shift()!;
        if (feed.waiting.length === 0) feed.waiting = undefined;
        if (next.seq <= feed.lastSeq) continue;
        if (next.seq > feed.lastSeq + 1) await readStore(feed, next.seq - 1);
        if (next.data) feed.session.send(next.data);
        feed.lastSeq = next.seq;
      }
    } catch (err) {
      fail(feed, err);
    } finally {
      feed.busy = false;
    }
  }

  function fail(feed: Feed, err: unknown): void {
    const error = toAppError(err);
    remove(feed);
    if (error.code === 'HISTORY_EXPIRED') {
      feed.session.send(frame('refetch', { conversationId: feed.conversationId, code: 'HISTORY_EXPIRED' }));
      return;
    }
    // A feed that cannot read the store would leave a gap: the client resumes once it is back.
    if (!isAppError(err)) log.error({ err, conversationId: feed.conversationId }, 'a socket could not catch up');
    feed.session.closeWith(error.code === 'INTERNAL' ? 'INTERNAL' : 'STORE_UNAVAILABLE', error.message);
  }

  function remove(feed: Feed): void {
    feed.gone = true;
    const feeds = byConversation.get(feed.conversationId);
    const at = feeds?.indexOf(feed) ?? -1;
    if (at >= 0) feeds!.splice(at, 1);
    if (feeds?.length === 0) byConversation.delete(feed.conversationId);
    const ids = followed.get(feed.session);
    const i = ids?.indexOf(feed.conversationId) ?? -1;
    if (i >= 0) ids!.splice(i, 1);
  }

  function deliver(feed: Feed, seq: number, data: Buffer | undefined): void {
    if (feed.busy && (feed.waiting?.length ?? 0) >= MAX_WAITING) {
      // Held in memory no longer: the store has them, read once the catch-up is done.
      feed.waiting = undefined;
      feed.stale = true;
      return;
    }
    if (feed.busy || seq > feed.lastSeq + 1) {
      (feed.waiting ??= []).push({ seq, data });
      if (!feed.busy) void exclusive(feed, async () => {});
      return;
    }
    if (seq <= feed.lastSeq) return;
    if (data) feed.session.send(data);
    feed.lastSeq = seq;
  }

  return {
    async subscribe(session, conversationId, afterSeq, frameId) {
      const { seq: headSeq } = await deps.conversations.get(session.principal, conversationId);
      const previous = feedOf(session, conversationId);
      if (previous) remove(previous);
      const feed: Feed = { session, conversationId, lastSeq: afterSeq, waiting: undefined, busy: true, stale: false, gone: false };
      const feeds = byConversation.get(conversationId);
      if (feeds) feeds.push(feed);
      else byConversation.set(conversationId, [feed]);
      const ids = followed.get(session);
      if (ids) ids.push(conversationId);
      else followed.set(session, [conversationId]);
      // Registered before the read: a live event from now on waits for it instead of being missed.
      await exclusive(feed, async () => {
        session.send(frame('subscribed', { id: frameId, conversationId, headSeq }));
        await readStore(feed);
      });
    },
    unsubscribe(session, conversationId) {
      const feed = feedOf(session, conversationId);
      if (feed) remove(feed);
      return feed !== undefined;
    },
    drop(session) {
      for (const conversationId of [...(followed.get(session) ?? [])]) {
        const feed = feedOf(session, conversationId);
        if (feed) remove(feed);
      }
      followed.delete(session);
    },
    isFollowing: (session, conversationId) => feedOf(session, conversationId) !== undefined,
    onEvent(conversationId, seq, json) {
      const feeds = byConversation.get(conversationId);
      // Heard already (this node's own append is handed over before pub/sub brings it back): not parsed again.
      if (!feeds || feeds.every((f) => !f.busy && f.lastSeq >= seq)) return;
      const event = JSON.parse(json) as ConversationEvent;
      let asStored: Buffer | undefined;
      const write = (feed: Feed) => {
        const visible = deps.conversations.visibleTo(feed.session.principal, event);
        let data: Buffer | undefined;
        if (visible === event) data = asStored ??= Buffer.from(eventFrame(conversationId, json));
        else if (visible) data = Buffer.from(eventFrame(conversationId, JSON.stringify(visible)));
        deliver(feed, seq, data);
      };
      // The author's own sockets last: it has what it sent (and its ack says so), the others wait for it.
      let authors: Feed[] | undefined;
      for (const feed of [...feeds]) {
        if (isAuthor(feed.session.principal, event.by)) (authors ??= []).push(feed);
        else write(feed);
      }
      if (authors) for (const feed of authors) write(feed);
    },
    followers: (conversationId) => (byConversation.get(conversationId) ?? []).map((f) => f.session),
    followedBy(kind) {
      const ids: string[] = [];
      for (const [conversationId, feeds] of byConversation) if (feeds.some((f) => f.session.principal.kind === kind)) ids.push(conversationId);
      return ids;
    },
    catchUpAll() {
      for (const feeds of byConversation.values()) {
        for (const feed of [...feeds]) {
          feed.stale = true;
          if (!feed.busy) void exclusive(feed, async () => {});
        }
      }
    },
  };
}
