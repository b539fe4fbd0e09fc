/** One Server-Sent Events message. */
export interface SseMessage {
  readonly id?: string;
  readonly event?: string;
  readonly data: string;
}

/** Reads an SSE stream into messages until `close()`; `next(predicate)` waits for a matching one. */
export function readSse(res: Response) {
  const messages: SseMessage[] = [];
  const waiters: { predicate: (m: SseMessage) => boolean; resolve: (m: SseMessage) => void }[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const done = (async () => {
    for (;;) {
      const { value, done: finished } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (finished) return;
      buffer += value;
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const fields: Record<string, string> = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const at = line.indexOf(':');
          if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1).trimStart();
        }
        if (fields.data === undefined) continue;
        const message: SseMessage = { data: fields.data, ...(fields.id ? { id: fields.id } : {}), ...(fields.event ? { event: fields.event } : {}) };
        messages.push(message);
        for (const w of waiters.splice(0)) (w.predicate(message) ? w.resolve(message) : waiters.push(w));
      }
    }
  })();
  return {
    messages,
    /** Settles when the server ends the stream (or after close()). */
    ended: done,
    next(predicate: (m: SseMessage) => boolean, timeoutMs = 10_000): Promise<SseMessage> {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching SSE message within ${timeoutMs} ms; got ${messages.map((m) => m.event).join(',')}`)), timeoutMs);
        waiters.push({ predicate, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      });
    },
    async close() {
      await reader.cancel().catch(() => undefined);
      await done;
    },
  };
}
