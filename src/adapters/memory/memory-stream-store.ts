import type { StreamEntry, StreamInfo, StreamReader, StreamReads, StreamStore } from '../../ports/stream-store.ts';
import { createExpiringMap } from './expiring-map.ts';

interface Stream {
  entries: StreamEntry[];
  lastMs: number;
  lastSeq: number;
  added: number;
}

/** `<ms>-<seq>` ids compared as two numbers, as Redis orders them. */
const isAfter = (id: string, than: string): boolean => {
  const [a = 0, b = 0] = id.split('-').map(Number);
  const [c = 0, d = 0] = than.split('-').map(Number);
  return a > c || (a === c && b > d);
};

/** Streams within one process, with Redis's id scheme and semantics (the unit tier). */
export function createMemoryStreamStore(options: { now?: () => number } = {}): StreamStore {
  const now = options.now ?? Date.now;
  const streams = new Map<string, Stream>();
  const marks = createExpiringMap<true>(now);
  /** Blocking reads waiting for an append. */
  const waiting = new Set<() => void>();
  const streamOf = (name: string): Stream => {
    let stream = streams.get(name);
    if (!stream) streams.set(name, (stream = { entries: [], lastMs: 0, lastSeq: -1, added: 0 }));
    return stream;
  };
  const after = (name: string, position: string | undefined, count: number) => {
    const entries = streams.get(name)?.entries ?? [];
    return (position === undefined ? entries : entries.filter((e) => isAfter(e.id, position))).slice(0, count);
  };

  function add(name: string, fields: StreamEntry['fields'], maxLength: number | undefined, maxAgeMs?: number): string {
    const stream = streamOf(name);
    const ms = Math.max(now(), stream.lastMs);
    stream.lastSeq = ms === stream.lastMs ? stream.lastSeq + 1 : 0;
    stream.lastMs = ms;
    const id = `${ms}-${stream.lastSeq}`;
    stream.entries.push({ id, fields: { ...fields } });
    stream.added += 1;
    if (maxAgeMs !== undefined) {
      const oldest = stream.entries.findIndex((e) => Number(e.id.split('-')[0]) >= ms - maxAgeMs);
      if (oldest > 0) stream.entries.splice(0, oldest);
    }
    if (maxLength !== undefined && stream.entries.length > maxLength) stream.entries.splice(0, stream.entries.length - maxLength);
    return id;
  }
  function remove(name: string, ids: readonly string[]): number {
    const stream = streams.get(name);
    if (!stream) return 0;
    const before = stream.entries.length;
    stream.entries = stream.entries.filter((e) => !ids.includes(e.id));
    return before - stream.entries.length;
  }
  const reads: StreamReads = {
    range: async (stream, { after: position, count }) => after(stream, position, count),
    get: async (stream, id) => streams.get(stream)?.entries.find((e) => e.id === id),
    newest: async (stream) => streams.get(stream)?.entries.at(-1),
    async info(name): Promise<StreamInfo> {
      const stream = streams.get(name);
      const first = stream?.entries[0]?.id;
      const last = stream?.entries.at(-1)?.id;
      return { length: stream?.entries.length ?? 0, added: stream?.added ?? 0, ...(first ? { first } : {}), ...(last ? { last } : {}) };
    },
    length: async (stream) => streams.get(stream)?.entries.length ?? 0,
  };
  const wake = () => {
    for (const resolve of [...waiting]) resolve();
  };

  const appendOnceMany: StreamStore['appendOnceMany'] = async (stream, entries, opts = {}) => {
    const ids = entries.map(({ fields, once }) => {
      if (marks.get(once.key)) return undefined;
      marks.set(once.key, true, once.ttlMs);
      return add(stream, fields, opts.maxLength, opts.maxAgeMs);
    });
    if (ids.some((id) => id !== undefined)) wake();
    return ids;
  };
  return {
    isUp: () => true,
    async append(entries, opts = {}) {
      const ids = entries.map(({ stream, fields }) => add(stream, fields, opts.maxLength));
      if (ids.length > 0) wake();
      return ids;
    },
    async appendOnce(stream, fields, once, opts = {}) {
      const [id] = await appendOnceMany(stream, [{ fields, once }], opts);
      return id;
    },
    appendOnceMany,
    ...reads,
    async move(from, id, to, extra) {
      const stream = streams.get(from);
      const entry = stream?.entries.find((e) => e.id === id);
      if (!stream || !entry) return false;
      stream.entries = stream.entries.filter((e) => e !== entry);
      add(to, { ...entry.fields, ...extra }, undefined);
      wake();
      return true;
    },
    rangeMany: async (reads) => reads.map(({ stream, count }) => after(stream, undefined, count)),
    removeMany: async (removals) => removals.map(({ stream, ids }) => remove(stream, ids)),
    remove: async (name, ids) => remove(name, ids),
    reader(): StreamReader {
      let closed = false;
      let stop: (() => void) | undefined;
      return {
        ...reads,
        async read(stream, position, { count, blockMs }) {
          const found = after(stream, position, count);
          if (found.length > 0 || closed) return found;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, blockMs);
            function done() {
              clearTimeout(timer);
              waiting.delete(done);
              resolve();
            }
            waiting.add(done);
            stop = done;
          });
          return closed ? [] : after(stream, position, count);
        },
        close() {
          closed = true;
          stop?.();
        },
      };
    },
  };
}
