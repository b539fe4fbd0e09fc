import type { Redis } from 'ioredis';
import type { StreamEntry, StreamFields, StreamInfo, StreamReader, StreamReads, StreamStore } from '../../ports/stream-store.ts';
import type { RedisHandle } from './redis-client.ts';

/**
 * Appends entries to KEYS[1], each unless its mark (KEYS[1 + i]) is set, and sets the marks: an
 * entry's append and its mark in one step (on a Cluster every key must share a slot). Then
 * ARGV[2], when given, trims entries older than that many ms by Redis's clock (MINID), and
 * ARGV[1], when given, caps the length besides. From ARGV[3] on, each entry is its mark's TTL in
 * ms, its field count and its fields. Answers each entry's id, or nil for one already marked.
 */
const APPEND_ONCE_MANY = `
local ids = {}
local at = 3
for i = 2, #KEYS do
  local n = tonumber(ARGV[at + 1])
  if redis.call('SET', KEYS[i], '1', 'NX', 'PX', ARGV[at]) then
    ids[i - 1] = redis.call('XADD', KEYS[1], '*', unpack(ARGV, at + 2, at + 1 + n))
  else
    ids[i - 1] = false
  end
  at = at + n + 2
end
if ARGV[2] ~= '' then
  local t = redis.call('TIME')
  local minid = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[2]))
  redis.call('XTRIM', KEYS[1], 'MINID', minid)
end
if ARGV[1] ~= '' then redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[1]) end
return ids`;
/** Entries per script run: a longer batch is several runs (in one pipeline), so that Redis is never held for long. */
const APPEND_ONCE_CHUNK = 500;

const APPEND_ONCE_COMMAND = 'omnigateStreamAppendOnceMany';
type WithAppendOnce = { [APPEND_ONCE_COMMAND](...args: (string | number)[]): unknown };

/** The entry, if still there, appended to KEYS[2] with the extra fields and deleted from KEYS[1]. */
const MOVE = `
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return 0 end
local fields = found[1][2]
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('XADD', KEYS[2], '*', unpack(fields))
redis.call('XDEL', KEYS[1], ARGV[1])
return 1`;

type RawEntry = [string, string[]];
const CLOSED = Symbol('closed');
const flat = (fields: StreamFields): string[] => Object.entries(fields).flat();
const toEntry = ([id, values]: RawEntry): StreamEntry => {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < values.length; i += 2) fields[values[i] as string] = values[i + 1] as string;
  return { id, fields };
};
const trim = (maxLength: number | undefined): string[] => (maxLength === undefined ? [] : ['MAXLEN', '~', String(maxLength)]);

/** A pipeline's replies, or its first error. */
function replies(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('the pipeline was not run');
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0];
  return results.map(([, reply]) => reply);
}

/** The reads, on whichever connection. */
function readsOn(client: Redis): StreamReads {
  return {
    async range(stream, { after, count }) {
      return ((await client.xrange(stream, after === undefined ? '-' : `(${after}`, '+', 'COUNT', count)) as RawEntry[]).map(toEntry);
    },
    async get(stream, id) {
      const [entry] = (await client.xrange(stream, id, id)) as RawEntry[];
      return entry ? toEntry(entry) : undefined;
    },
    async newest(stream) {
      const [entry] = (await client.xrevrange(stream, '+', '-', 'COUNT', 1)) as RawEntry[];
      return entry ? toEntry(entry) : undefined;
    },
    async info(stream): Promise<StreamInfo> {
      const reply = (await client.xinfo('STREAM', stream).catch((err: Error) => {
        // A stream that was never written (or was deleted) has nothing to say.
        if (/no such key/i.test(err.message)) return [];
        throw err;
      })) as unknown[];
      const field = (name: string) => (reply.includes(name) ? reply[reply.indexOf(name) + 1] : undefined);
      const first = (field('first-entry') as RawEntry | null | undefined)?.[0];
      const last = (field('last-entry') as RawEntry | null | undefined)?.[0];
      const length = Number(field('length') ?? 0);
      return { length, added: Number(field('entries-added') ?? length), ...(first ? { first } : {}), ...(last ? { last } : {}) };
    },
    length: (stream) => client.xlen(stream),
  };
}

/** Redis Streams (XADD, XRANGE, XREAD BLOCK); stream names are the caller's keys, unchanged. */
export function createRedisStreamStore(redis: RedisHandle): StreamStore {
  const { client } = redis;
  // EVALSHA, falling back to EVAL by itself, also inside a pipeline: the script's text is not sent per append.
  if (!(APPEND_ONCE_COMMAND in client)) client.defineCommand(APPEND_ONCE_COMMAND, { lua: APPEND_ONCE_MANY });
  const appendOnceMany: StreamStore['appendOnceMany'] = async (stream, entries, options = {}) => {
    if (entries.length === 0) return [];
    const maxLength = options.maxLength === undefined ? '' : String(options.maxLength);
    const maxAge = options.maxAgeMs === undefined ? '' : String(options.maxAgeMs);
    // One script per chunk of entries, in one pipeline: one write and one round trip for the lot, each entry still once.
    const pipeline = client.pipeline() as unknown as WithAppendOnce & { exec(): Promise<[Error | null, unknown][] | null> };
    for (let from = 0; from < entries.length; from += APPEND_ONCE_CHUNK) {
      const chunk = entries.slice(from, from + APPEND_ONCE_CHUNK);
      const args = chunk.flatMap(({ fields, once }) => {
        const flattened = flat(fields);
        return [once.ttlMs, flattened.length, ...flattened];
      });
      pipeline[APPEND_ONCE_COMMAND](chunk.length + 1, stream, ...chunk.map(({ once }) => once.key), maxLength, maxAge, ...args);
    }
    return replies(await pipeline.exec()).flatMap((ids) => (ids as (string | null)[]).map((id) => (id === null ? undefined : String(id))));
  };
  return {
    ...readsOn(client),
    isUp: () => redis.isUp(),
    async append(entries, options = {}) {
      if (entries.length === 0) return [];
      const transaction = client.multi();
      for (const { stream, fields } of entries) transaction.xadd(stream, ...trim(options.maxLength), '*', ...flat(fields));
      const results = await transaction.exec();
      const failed = results?.find(([err]) => err);
      if (!results || failed) throw failed?.[0] ?? new Error('stream append failed');
      return results.map(([, id]) => String(id));
    },
    async appendOnce(stream, fields, once, options = {}) {
      const [id] = await appendOnceMany(stream, [{ fields, once }], options);
      return id;
    },
    appendOnceMany,
    remove: (stream, ids) => (ids.length === 0 ? Promise.resolve(0) : client.xdel(stream, ...ids)),
    async rangeMany(reads) {
      if (reads.length === 0) return [];
      const pipeline = client.pipeline();
      for (const { stream, count } of reads) pipeline.xrange(stream, '-', '+', 'COUNT', count);
      return replies(await pipeline.exec()).map((raw) => (raw as RawEntry[]).map(toEntry));
    },
    async removeMany(removals) {
      const some = removals.filter(({ ids }) => ids.length > 0);
      if (some.length === 0) return removals.map(() => 0);
      const pipeline = client.pipeline();
      for (const { stream, ids } of some) pipeline.xdel(stream, ...ids);
      const counts = replies(await pipeline.exec()).map(Number);
      return removals.map(({ ids }) => (ids.length === 0 ? 0 : (counts.shift() ?? 0)));
    },
    move: async (from, id, to, extra) => (await client.eval(MOVE, 2, from, to, id, ...flat(extra))) === 1,
    reader(options = {}): StreamReader {
      // A blocking read outlasts any command timeout: it waits as long as it asked to. The first
      // read may come before the connection is up: it waits for it (a failed reconnect rejects it).
      const connection: Redis = client.duplicate({ commandTimeout: options.timeoutMs as number, enableOfflineQueue: true });
      // Its failures reach the caller through its reads; the events would only repeat them.
      connection.on('error', () => undefined);
      // ioredis never settles a command queued while it reconnects once the connection is closed
      // (no failed reconnect is left to reject it): a shutdown awaiting such a read would hang.
      // Every read of this reader ends when it is closed, whatever the connection does.
      let markClosed!: () => void;
      const closed = new Promise<typeof CLOSED>((resolve) => (markClosed = () => resolve(CLOSED)));
      const untilClosed = async <T>(work: Promise<T>): Promise<T> => {
        const result = await Promise.race([work, closed]);
        if (result === CLOSED) throw new Error('the stream reader is closed');
        return result;
      };
      const reads = readsOn(connection);
      return {
        range: (stream, range) => untilClosed(reads.range(stream, range)),
        get: (stream, id) => untilClosed(reads.get(stream, id)),
        newest: (stream) => untilClosed(reads.newest(stream)),
        info: (stream) => untilClosed(reads.info(stream)),
        length: (stream) => untilClosed(reads.length(stream)),
        async read(stream, after, { count, blockMs }) {
          const reply = await Promise.race([connection.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, after) as Promise<[string, RawEntry[]][] | null>, closed]);
          // Closed: nothing came, as from the in-memory reader.
          if (reply === CLOSED) return [];
          return (reply ?? []).flatMap(([, entries]) => entries.map(toEntry));
        },
        close() {
          markClosed();
          connection.disconnect();
        },
      };
    },
  };
}
