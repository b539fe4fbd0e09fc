import type { Response } from 'express';
import { AppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { DispatchStore } from '../../ports/dispatch-store.ts';
import { statsSignature, toQueuesView } from './queue-stats.ts';

const SHUTDOWN_FRAME = `event: shutdown\ndata: ${JSON.stringify({ reason: 'this gateway node is shutting down; reconnect to get the numbers from another node' })}\n\n`;

/** The SSE streams of GET /v1/queues/stream on this node. */
export interface QueueStreams {
  /**
   * Serves one stream on `res` until the client leaves or close() is called: the numbers at once,
   * then again whenever they change. Throws before anything is written when `owner` has its limit
   * of streams open on this node (or the node is shutting down), so the caller can answer a problem.
   */
  open(res: Response, owner: string): void;
  /** Streams open now. */
  readonly size: number;
  /** Ends every stream with `event: shutdown` and refuses new ones. */
  close(): Promise<void>;
}

export interface QueueStreamsDeps {
  readonly store: Pick<DispatchStore, 'stats'>;
  readonly log: Logger;
  readonly now: () => number;
  /** How often the store's numbers are read while a stream is open (one read per node, whatever the number of streams). */
  readonly intervalMs: number;
  /** Keep-alive comments this often; a client that read nothing for a whole interval while behind is cut. */
  readonly heartbeatMs: number;
  /** Streams one key (principal) may hold open on this node. */
  readonly maxPerKey: number;
  /** Bytes a stream may have waiting for its client; past it the stream skips events (each is the whole picture) until the client has read. */
  readonly maxBufferBytes: number;
}

interface Stream {
  readonly res: Response;
  /** The signature of the numbers it was sent last. */
  sent?: string;
  hasDrained: boolean;
  wasStalled: boolean;
}

export function createQueueStreams(deps: QueueStreamsDeps): QueueStreams {
  const log = deps.log.child({ module: 'queue-streams' });
  const streams = new Set<Stream>();
  const perKey = new Map<string, number>();
  let closing = false;
  let timers: NodeJS.Timeout[] = [];
  /** The last numbers read, as one frame for every stream. */
  let latest: { signature: string; frame: string } | undefined;
  let reading: Promise<void> | undefined;
  let failing = false;

  // A client far behind gets the next picture once it has read; it never needs the ones it missed.
  const deliver = (stream: Stream) => {
    if (!latest || stream.sent === latest.signature || stream.res.writableLength > deps.maxBufferBytes) return;
    stream.sent = latest.signature;
    stream.res.write(latest.frame);
  };

  const read = () =>
    (reading ??= (async () => {
      try {
        const nowMs = deps.now();
        const stats = await deps.store.stats(nowMs);
        const signature = statsSignature(stats);
        if (latest?.signature !== signature) latest = { signature, frame: `event: queues\ndata: ${JSON.stringify(toQueuesView(stats, nowMs))}\n\n` };
        if (failing) log.info('queue numbers readable again');
        failing = false;
      } catch (err) {
        // Once per outage, not once per interval; the streams stay open and get the numbers when they are back.
        if (!failing) log.warn({ err }, 'queue numbers unreadable: streams wait for them');
        failing = true;
      }
      streams.forEach(deliver);
    })().finally(() => (reading = undefined)));

  const heartbeat = () => {
    for (const stream of streams) {
      const { res } = stream;
      const isStalled = res.writableNeedDrain && !stream.hasDrained;
      if (isStalled && stream.wasStalled) {
        log.info({ bufferedBytes: res.writableLength }, 'queue stream dropped: the client read nothing for a heartbeat interval');
        // A reset, not a close: a FIN would wait behind the unread bytes.
        res.socket ? res.socket.resetAndDestroy() : res.destroy();
        continue;
      }
      stream.wasStalled = isStalled;
      stream.hasDrained = false;
      // One that is behind gets the latest numbers on 'drain'; a comment would only add to its backlog.
      if (!res.writableNeedDrain) res.write(': keep-alive\n\n');
    }
  };

  const startTimers = () => {
    timers = [setInterval(() => void read(), deps.intervalMs), setInterval(heartbeat, deps.heartbeatMs)];
  };
  const stopTimers = () => {
    timers.forEach(clearInterval);
    timers = [];
    latest = undefined;
  };

  function open(res: Response, owner: string): void {
    if (closing) throw new AppError('SHUTTING_DOWN', 'this gateway node is shutting down');
    const held = perKey.get(owner) ?? 0;
    if (held >= deps.maxPerKey) {
      throw new AppError('STREAM_LIMIT_REACHED', `this key already has ${held} queue streams open on this node, its limit; close one first`, { limit: deps.maxPerKey });
    }
    perKey.set(owner, held + 1);
    res.status(200).set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    res.write(': connected\n\n');
    const stream: Stream = { res, hasDrained: true, wasStalled: false };
    res.on('drain', () => {
      stream.hasDrained = true;
      deliver(stream);
    });
    res.on('close', () => {
      streams.delete(stream);
      const left = (perKey.get(owner) ?? 1) - 1;
      if (left > 0) perKey.set(owner, left);
      else perKey.delete(owner);
      if (streams.size === 0) stopTimers();
    });
    streams.add(stream);
    // The numbers at once: the node's last read while it reads for other streams, else a read now.
    if (streams.size > 1) return deliver(stream);
    startTimers();
    void read();
  }

  return {
    open,
    get size() {
      return streams.size;
    },
    async close() {
      closing = true;
      stopTimers();
      for (const { res } of [...streams]) {
        if (res.writableLength > 0) res.socket ? res.socket.resetAndDestroy() : res.destroy();
        else res.end(SHUTDOWN_FRAME, () => res.socket?.end());
      }
    },
  };
}
