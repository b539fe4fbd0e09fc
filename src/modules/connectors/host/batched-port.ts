/** Several messages in one post: what one turn of a busy event loop handed over. */
export interface Batch<M> {
  readonly type: 'batch';
  readonly messages: readonly M[];
}

/**
 * Sends messages to the other thread together, at the end of this turn of the event loop: a loop
 * that hands over several in one turn (a saturated gateway parses several requests per turn) wakes
 * the other thread once and pays one post, not one per message. Order is kept; a lone message goes
 * as itself. `flush` sends what waits now (before the port closes).
 */
export function batchedPost<M>(post: (message: M | Batch<M>) => void): { send(message: M): void; flush(): void } {
  let waiting: M[] = [];
  const flush = (): void => {
    const messages = waiting;
    if (messages.length === 0) return;
    waiting = [];
    post(messages.length === 1 ? (messages[0] as M) : { type: 'batch', messages });
  };
  return {
    send(message) {
      if (waiting.push(message) === 1) setImmediate(flush);
    },
    flush,
  };
}

/** Each message of what came in, batch or not, in order. */
export function eachMessage<M>(message: M | Batch<M>, handle: (message: M) => void): void {
  if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'batch') {
    for (const one of (message as Batch<M>).messages) handle(one);
  } else handle(message as M);
}
