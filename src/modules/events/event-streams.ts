import type { Response } from 'express';
import { AppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { isAfter, type EventLog, type LoggedEvent } from './event-log.ts';

/** Entries per read of a replay: a replay holds at most one page beyond what the socket takes. */
const REPLAY_PAGE = 100;
/** Live entries held while a replay runs; past this they are dropped and read back from the log. */
const MAX_WAITING = 100;
const SHUTDOWN_FRAME = `event: shutdown\ndata: ${JSON.stringify({ reason: 'this gateway node is shutting down; reconnect (with Last-Event-ID) to resume elsewhere' })}\n\n`;

/** What a client asked for: whose stream it is, its filters and where it resumes. */
export interface StreamRequest {
  /** The principal of the key; the per-key cap counts by it. */
  readonly owner: string;
  /** Only these event types; empty for all. */
  readonly types: ReadonlySet<string>;
  readonly subject: string | undefined;
  /** The last position the client got (Last-Event-ID), if it resumes. */
  readonly resumeFrom: string | undefined;
}

/** The Server-Sent Event streams this node serves. */
export interface EventStreams {
  /**
   * Serves one stream on `res` until the client leaves, reads too slowly or close() is called.
   * Throws before anything is written when the key has its limit of streams open (or the node is
   * shutting down), so the caller can answer a problem.
   */
  open(res: Response, request: StreamRequest): void;
  /** Streams open now. */
  readonly size: number;
  /** Ends every stream with `event: shutdown` (a client that does not read is cut) and refuses new ones. */
  close(): Promise<void>;
}

export interface EventStreamsDeps {
  readonly eventLog: EventLog;
  readonly log: Logger;
  readonly metrics: Pick<Metrics, 'sseStreams' | 'sseDropped'>;
  /** Streams one key may hold open on this node. */
  readonly maxPerKey: number;
  /**
   * Bytes a stream may have waiting for its client. Past it the stream pauses and catches up from
   * the log once the client has read; one that reads nothing for a heartbeat interval is dropped.
   */
  readonly maxBufferBytes: number;
  /** Keep-alive comments this often; also how long a paused client may read nothing. */
  readonly heartbeatMs: number;
}

/** An SSE frame: the event's JSON text as it came, unless that spans lines (a producer that pretty-prints), which one `data:` line cannot carry. */
const frame = (entry: LoggedEvent) => `id: ${entry.position}\nevent: ${entry.type}\ndata: ${/[\r\n]/.test(entry.text) ? JSON.stringify(entry.event) : entry.text}\n\n`;

export function createEventStreams(deps: EventStreamsDeps): EventStreams {
  const log = deps.log.child({ module: 'event-streams' });
  const perKey = new Map<string, number>();
  const enders = new Set<() => void>();
  let closing = false;
  // One frame per entry however many streams it goes to.
  const frames = new WeakMap<LoggedEvent, string>();
  const frameOf = (entry: LoggedEvent) => frames.get(entry) ?? frames.set(entry, frame(entry)).get(entry)!;

  function open(res: Response, request: StreamRequest): void {
    if (closing) throw new AppError('SHUTTING_DOWN', 'this gateway node is shutting down');
    const held = perKey.get(request.owner) ?? 0;
    if (held >= deps.maxPerKey) {
      throw new AppError('STREAM_LIMIT_REACHED', `this key already has ${held} event streams open on this node, its limit; close one first`, { limit: deps.maxPerKey });
    }
    perKey.set(request.owner, held + 1);
    deps.metrics.sseStreams.inc();

    res.status(200).set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    const wanted = ({ type, subject }: LoggedEvent) => (request.types.size === 0 || request.types.has(type)) && (request.subject === undefined || subject === request.subject);
    let sentUpTo = request.resumeFrom ?? '0-0';
    let gone = false;
    // The frames of one turn of the event loop (a read of the log brings up to 500) go out in one write.
    let corked = false;
    const uncork = () => {
      corked = false;
      res.uncork();
    };
    const send = (entry: LoggedEvent) => {
      if (gone || !isAfter(entry.position, sentUpTo)) return;
      sentUpTo = entry.position;
      if (!wanted(entry)) return;
      if (!corked) {
        corked = true;
        res.cork();
        process.nextTick(uncork);
      }
      res.write(frameOf(entry));
    };

    // While reading from the log (a replay, or catching up after a pause) live entries wait, so
    // nothing falls between the two; past MAX_WAITING they are read back from the log instead.
    let fromLog = request.resumeFrom !== undefined;
    let waiting: LoggedEvent[] = [];
    let overflowed = false;
    const stopTail = deps.eventLog.tail((entry) => {
      if (!fromLog) return (send(entry), pauseIfBehind());
      if (waiting.length < MAX_WAITING) return void waiting.push(entry);
      waiting = [];
      overflowed = true;
    });
    // A client that does not keep up is not buffered for: the stream pauses until it has read.
    const pauseIfBehind = () => {
      if (gone || fromLog || res.writableLength <= deps.maxBufferBytes) return;
      fromLog = true;
      void drained().then(() => readLogOrEnd(sentUpTo));
    };
    const drained = () =>
      new Promise<void>((resolve) => {
        if (!res.writableNeedDrain) return resolve();
        const done = () => (res.off('drain', done), res.off('close', done), resolve());
        res.on('drain', done).on('close', done);
      });
    // A reset, not a close: a FIN would wait behind the unread bytes, and the kernel would keep them.
    const cut = () => void (res.socket ? res.socket.resetAndDestroy() : res.destroy());
    let hasDrained = true;
    let wasStalled = false;
    res.on('drain', () => (hasDrained = true));
    const heartbeat = setInterval(() => {
      if (gone) return;
      // Only a paused stream (nothing more is written to it until it drains) can tell a client that
      // reads nothing from one that reads steadily a little behind.
      const isWaiting = fromLog && res.writableNeedDrain;
      const isStalled = isWaiting && !hasDrained;
      if (isStalled && wasStalled) {
        log.info({ owner: request.owner, bufferedBytes: res.writableLength }, 'event stream dropped: the client read nothing for a heartbeat interval');
        deps.metrics.sseDropped.inc();
        return cut();
      }
      wasStalled = isWaiting;
      hasDrained = false;
      if (!res.writableNeedDrain) res.write(': keep-alive\n\n');
    }, deps.heartbeatMs);
    const end = () => {
      if (gone) return;
      if (res.writableLength > 0) return cut();
      // Nothing is written after the end (a write after end is an error on the response).
      gone = true;
      res.end(SHUTDOWN_FRAME);
      // Ends the connection too once flushed, so the server's close does not wait for it to idle out.
      res.once('finish', () => res.socket?.end());
    };
    enders.add(end);
    res.on('close', () => {
      gone = true;
      stopTail();
      clearInterval(heartbeat);
      enders.delete(end);
      deps.metrics.sseStreams.dec();
      const left = (perKey.get(request.owner) ?? 1) - 1;
      if (left > 0) perKey.set(request.owner, left);
      else perKey.delete(request.owner);
    });

    const readLog = async (from: string) => {
      if (gone) return;
      const { state, newest } = await deps.eventLog.check(from);
      if (state !== 'kept') {
        // Replaying what is left would still miss events: the client must reload its state instead.
        sentUpTo = newest ?? '0-0';
        const reason = state === 'trimmed' ? 'the event log no longer holds the events after this position (retention)' : 'the event log has no such position';
        if (!gone) res.write(`id: ${sentUpTo}\nevent: reset\ndata: ${JSON.stringify({ lastEventId: from, reason })}\n\n`);
      } else {
        for (;;) {
          overflowed = false;
          const page = await deps.eventLog.after(sentUpTo, REPLAY_PAGE);
          page.forEach(send);
          if (gone || (page.length < REPLAY_PAGE && !overflowed)) break;
          // A client that reads slowly slows the replay down instead of filling memory.
          await drained();
        }
      }
      fromLog = false;
      waiting.splice(0).forEach(send);
      pauseIfBehind();
    };
    const readLogOrEnd = (from: string) =>
      readLog(from).catch((err: unknown) => {
        log.warn({ err }, 'event stream could not read the log: ending it (the client resumes by Last-Event-ID)');
        if (!gone) res.end();
        gone = true;
      });
    res.write(': connected\n\n');
    if (request.resumeFrom !== undefined) void readLogOrEnd(request.resumeFrom);
  }

  return {
    open,
    get size() {
      return enders.size;
    },
    async close() {
      closing = true;
      for (const end of [...enders]) end();
    },
  };
}
