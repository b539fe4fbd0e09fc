import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { createMemoryBlobStore } from '../../src/adapters/memory/memory-blob-store.ts';
import { createMemoryDedupeStore } from '../../src/adapters/memory/memory-dedupe-store.ts';
import { createMemoryIdempotencyStore } from '../../src/adapters/memory/memory-idempotency-store.ts';
import { createMemoryCursorStore, createMemoryLeaseStore } from '../../src/adapters/memory/memory-lease-store.ts';
import { createMemoryRecordStore } from '../../src/adapters/memory/memory-record-store.ts';
import { createMemoryStreamStore } from '../../src/adapters/memory/memory-stream-store.ts';
import { createRedisBlobStore } from '../../src/adapters/redis/redis-blob-store.ts';
import { createRedis, type RedisHandle } from '../../src/adapters/redis/redis-client.ts';
import { createRedisDedupeStore } from '../../src/adapters/redis/redis-dedupe-store.ts';
import { createRedisIdempotencyStore } from '../../src/adapters/redis/redis-idempotency-store.ts';
import { createRedisCursorStore, createRedisLeaseStore } from '../../src/adapters/redis/redis-lease-store.ts';
import { createRedisRecordStore } from '../../src/adapters/redis/redis-record-store.ts';
import { createRedisStreamStore } from '../../src/adapters/redis/redis-stream-store.ts';
import type { BlobStore } from '../../src/ports/blob-store.ts';
import type { DedupeStore } from '../../src/ports/dedupe-store.ts';
import type { IdempotencyStore } from '../../src/ports/idempotency-store.ts';
import type { CursorStore, LeaseStore } from '../../src/ports/lease-store.ts';
import type { RecordStore } from '../../src/ports/record-store.ts';
import type { StreamStore } from '../../src/ports/stream-store.ts';
import { TEST_REDIS_URL } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

/** Records here lapse after 20 ms: anything near 10 s is a store that does not expire them. */
const WAIT = { timeoutMs: 10_000 };

// One suite per store port (idempotency, dedupe, leases and cursors, streams, blobs, records), each run against every adapter: Redis and in-memory.
interface Stores {
  idempotency: IdempotencyStore;
  dedupe: DedupeStore;
  leases: LeaseStore;
  cursors: CursorStore;
  streams: StreamStore;
  blobs: BlobStore;
  records: RecordStore;
}
let redis: RedisHandle | undefined;
const adapters: Record<string, () => Stores> = {
  'in-memory': () => ({ idempotency: createMemoryIdempotencyStore(), dedupe: createMemoryDedupeStore(), leases: createMemoryLeaseStore(), cursors: createMemoryCursorStore(), streams: createMemoryStreamStore(), blobs: createMemoryBlobStore(), records: createMemoryRecordStore() }),
  redis: () => {
    const handle = redis as RedisHandle;
    return { idempotency: createRedisIdempotencyStore(handle), dedupe: createRedisDedupeStore(handle), leases: createRedisLeaseStore(handle), cursors: createRedisCursorStore(handle), streams: createRedisStreamStore(handle), blobs: createRedisBlobStore(handle), records: createRedisRecordStore(handle) };
  },
};

before(async () => {
  redis = createRedis(TEST_REDIS_URL, pino({ level: 'silent' }));
  await waitFor('Redis to be up', () => redis?.isUp(), WAIT);
});
after(() => redis?.close());

/** Keys of one test: runs never see each other's. */
const keyOf = (what: string) => `omnigate:test:conformance:${what}:${randomUUID()}`;

for (const [name, make] of Object.entries(adapters)) {
  describe(`IdempotencyStore conformance: ${name}`, () => {
    test('the first claim of a key holds it; a second is refused and reads the first record', async () => {
      const { idempotency } = make();
      const key = keyOf('idem');
      assert.equal(await idempotency.claim(key, { token: 'a', state: 'running' }, 60_000), true);
      assert.equal(await idempotency.claim(key, { token: 'b' }, 60_000), false);
      assert.deepEqual(await idempotency.read(key), { token: 'a', state: 'running' });
      assert.equal(await idempotency.read(keyOf('none')), undefined);
    });

    test('only the holder of the token replaces or releases the record', async () => {
      const { idempotency } = make();
      const key = keyOf('idem');
      await idempotency.claim(key, { token: 'a' }, 60_000);
      assert.equal(await idempotency.replace(key, 'b', { token: 'b' }, 60_000), false);
      assert.equal(await idempotency.replace(key, 'a', { token: 'a', answer: 201 }, 60_000), true);
      assert.deepEqual(await idempotency.read(key), { token: 'a', answer: 201 });
      assert.equal(await idempotency.release(key, 'b'), false);
      assert.equal(await idempotency.release(key, 'a'), true);
      assert.equal(await idempotency.replace(key, 'a', { token: 'a' }, 60_000), false, 'nothing to replace once released');
      assert.equal(await idempotency.claim(key, { token: 'c' }, 60_000), true);
    });

    test('a record lapses after its time and the key is free again', async () => {
      const { idempotency } = make();
      const key = keyOf('idem');
      await idempotency.claim(key, { token: 'a' }, 20);
      await waitFor('the lapsed key to be claimed again', () => idempotency.claim(key, { token: 'b' }, 60_000), WAIT);
      assert.deepEqual(await idempotency.read(key), { token: 'b' });
    });
  });

  describe(`DedupeStore conformance: ${name}`, () => {
    test('a mark is seen until it lapses; markFirst marks only the first time', async () => {
      const { dedupe } = make();
      const key = keyOf('seen');
      assert.equal(await dedupe.has(key), false);
      await dedupe.mark(key, 20);
      assert.equal(await dedupe.has(key), true);
      await waitFor('the mark to lapse', async () => !(await dedupe.has(key)), WAIT);
      const first = keyOf('first');
      assert.equal(await dedupe.markFirst(first, 60_000), true);
      assert.equal(await dedupe.markFirst(first, 60_000), false);
      assert.equal(await dedupe.has(first), true);
    });

    test('hasMany and markMany answer and mark several keys at once, in order', async () => {
      const { dedupe } = make();
      const [a, b, c] = [keyOf('many'), keyOf('many'), keyOf('many')];
      await dedupe.mark(b!, 60_000);
      assert.deepEqual(await dedupe.hasMany([a!, b!, c!]), [false, true, false]);
      await dedupe.markMany([a!, c!], 20);
      assert.deepEqual(await dedupe.hasMany([a!, b!, c!]), [true, true, true]);
      await waitFor('the two short marks to lapse', async () => (await dedupe.hasMany([a!, c!])).every((seen) => !seen), WAIT);
      assert.deepEqual(await dedupe.hasMany([]), []);
    });
  });

  describe(`LeaseStore and CursorStore conformance: ${name}`, () => {
    test('one holder at a time: it extends its lease, others wait until it is released', async () => {
      const { leases } = make();
      const key = keyOf('lease');
      assert.equal(await leases.acquire(key, 'node-a', 60_000), true);
      assert.equal(await leases.acquire(key, 'node-b', 60_000), false);
      assert.equal(await leases.acquire(key, 'node-a', 60_000), true, 'the holder extends');
      assert.equal(await leases.holder(key), 'node-a');
      assert.equal(await leases.release(key, 'node-b'), false);
      assert.equal(await leases.release(key, 'node-a'), true);
      assert.equal(await leases.holder(key), undefined);
      assert.equal(await leases.acquire(key, 'node-b', 60_000), true);
    });

    test('a lease its holder does not renew lapses and another takes it', async () => {
      const { leases } = make();
      const key = keyOf('lease');
      await leases.acquire(key, 'node-a', 20);
      await waitFor('node-b to take the lapsed lease', () => leases.acquire(key, 'node-b', 60_000), WAIT);
      assert.equal(await leases.holder(key), 'node-b');
    });

    test('a heartbeat answers the live members, sorted; a silent one drops out, one that leaves is gone', async () => {
      const { leases } = make();
      const group = keyOf('group');
      await leases.heartbeat(group, 'node-c', 20);
      assert.deepEqual(await leases.heartbeat(group, 'node-b', 60_000), ['node-b', 'node-c']);
      await waitFor('node-c to drop out of the group', async () => (await leases.heartbeat(group, 'node-a', 60_000)).length === 2, WAIT);
      assert.deepEqual(await leases.heartbeat(group, 'node-a', 60_000), ['node-a', 'node-b']);
      await leases.leave(group, 'node-b');
      assert.deepEqual(await leases.heartbeat(group, 'node-a', 60_000), ['node-a']);
    });

    test('a cursor reads back what was set last', async () => {
      const { cursors } = make();
      const key = keyOf('cursor');
      assert.equal(await cursors.get(key), undefined);
      await cursors.set(key, 'c1');
      await cursors.set(key, 'c2');
      assert.equal(await cursors.get(key), 'c2');
    });
  });

  describe(`StreamStore conformance: ${name}`, () => {
    test('appends in order with increasing ids; reads from the start or after a position', async () => {
      const { streams } = make();
      const stream = keyOf('stream');
      const other = keyOf('stream');
      const ids = await streams.append([1, 2, 3].map((n) => ({ stream, fields: { e: `event-${n}`, t: 'topic' } })).concat([{ stream: other, fields: { e: 'x', t: '' } }]));
      assert.equal(ids.length, 4);
      const entries = await streams.range(stream, { count: 10 });
      assert.deepEqual(entries.map((e) => e.fields), [1, 2, 3].map((n) => ({ e: `event-${n}`, t: 'topic' })));
      assert.deepEqual(entries.map((e) => e.id), ids.slice(0, 3));
      assert.deepEqual((await streams.range(stream, { after: ids[0] as string, count: 1 })).map((e) => e.fields.e), ['event-2']);
      assert.deepEqual(await streams.get(stream, ids[1] as string), entries[1]);
      assert.deepEqual(await streams.newest(stream), entries[2]);
      assert.equal(await streams.length(other), 1);
      assert.equal(await streams.newest(keyOf('empty')), undefined);
    });

    test('removes entries by id and says what it holds and ever held', async () => {
      const { streams } = make();
      const stream = keyOf('stream');
      const ids = await streams.append([1, 2, 3].map((n) => ({ stream, fields: { n: String(n) } })));
      assert.equal(await streams.remove(stream, [ids[0] as string, '1-1']), 1);
      assert.equal(await streams.get(stream, ids[0] as string), undefined);
      assert.deepEqual(await streams.info(stream), { length: 2, added: 3, first: ids[1], last: ids[2] });
      assert.deepEqual(await streams.info(keyOf('never')), { length: 0, added: 0 });
    });

    test('reads and removes in several streams at once, answering in order', async () => {
      const { streams } = make();
      const [a, b, empty] = [keyOf('many-a'), keyOf('many-b'), keyOf('many-empty')];
      const ids = await streams.append([a, b, a, b, a].map((stream, n) => ({ stream, fields: { n: String(n) } })));
      const read = await streams.rangeMany([{ stream: b, count: 10 }, { stream: empty, count: 10 }, { stream: a, count: 2 }]);
      assert.deepEqual(read, [await streams.range(b, { count: 10 }), [], await streams.range(a, { count: 2 })]);
      assert.deepEqual(read[2]?.map((e) => e.fields.n), ['0', '2']);
      assert.deepEqual(await streams.removeMany([{ stream: a, ids: [ids[0] as string, ids[4] as string] }, { stream: empty, ids: [] }, { stream: b, ids: [ids[1] as string, '1-1'] }]), [2, 0, 1]);
      assert.deepEqual((await streams.range(a, { count: 10 })).map((e) => e.id), [ids[2]]);
      assert.deepEqual((await streams.range(b, { count: 10 })).map((e) => e.id), [ids[3]]);
      assert.deepEqual(await streams.rangeMany([]), []);
      assert.deepEqual(await streams.removeMany([]), []);
    });

    test('moves an entry to another stream once, with extra fields: a second move of it does nothing', async () => {
      const { streams } = make();
      const from = keyOf('from');
      const to = `${from}:dead`;
      const [first, second] = await streams.append([1, 2].map((n) => ({ stream: from, fields: { n: String(n) } })));
      assert.equal(await streams.move(from, first as string, to, { why: 'test' }), true);
      assert.equal(await streams.move(from, first as string, to, { why: 'again' }), false);
      assert.deepEqual((await streams.range(to, { count: 10 })).map((e) => e.fields), [{ n: '1', why: 'test' }]);
      assert.deepEqual((await streams.range(from, { count: 10 })).map((e) => e.id), [second]);
    });

    test('a stream past its maximum length loses its oldest entries, never its newest', async () => {
      const { streams } = make();
      const stream = keyOf('stream');
      const ids = await streams.append(Array.from({ length: 300 }, (_, n) => ({ stream, fields: { n: String(n) } })), { maxLength: 10 });
      const length = await streams.length(stream);
      assert.ok(length >= 10 && length < 300, `length ${length}`);
      assert.equal((await streams.newest(stream))?.id, ids.at(-1));
    });

    test('appendOnce appends a key once: a repeat appends nothing', async () => {
      const { streams } = make();
      const stream = keyOf('stream');
      const once = { key: keyOf('once'), ttlMs: 60_000 };
      assert.ok(await streams.appendOnce(stream, { e: 'one' }, once, { maxLength: 100 }));
      assert.equal(await streams.appendOnce(stream, { e: 'one' }, once), undefined);
      assert.equal(await streams.length(stream), 1);
    });

    test('appendOnceMany appends each key once, in order, and answers undefined for each repeat', async () => {
      const { streams } = make();
      const stream = keyOf('stream');
      const [k1, k2, k3] = [keyOf('once'), keyOf('once'), keyOf('once')].map((key) => ({ key, ttlMs: 60_000 }));
      const first = await streams.appendOnceMany(stream, [{ fields: { e: 'a' }, once: k1! }, { fields: { e: 'b' }, once: k2! }, { fields: { e: 'a again' }, once: k1! }], { maxLength: 100 });
      assert.ok(first[0] && first[1]);
      assert.equal(first[2], undefined, 'a repeat within one call');
      const second = await streams.appendOnceMany(stream, [{ fields: { e: 'b again' }, once: k2! }, { fields: { e: 'c' }, once: k3! }]);
      assert.equal(second[0], undefined, 'a repeat of an earlier call');
      assert.ok(second[1]);
      assert.deepEqual((await streams.range(stream, { count: 10 })).map((e) => e.fields.e), ['a', 'b', 'c']);
      assert.deepEqual(await streams.appendOnceMany(stream, []), []);
    });

    test('appendOnce with maxAgeMs drops the entries older than that: the log is sized by time', async () => {
      const { streams } = make();
      const stream = keyOf('stream');
      const first = await streams.appendOnce(stream, { e: 'old' }, { key: keyOf('once'), ttlMs: 60_000 }, { maxAgeMs: 200 });
      assert.ok(first);
      await streams.appendOnce(stream, { e: 'fresh' }, { key: keyOf('once'), ttlMs: 60_000 }, { maxAgeMs: 200 });
      assert.equal(await streams.length(stream), 2, 'both younger than maxAgeMs');
      await new Promise((r) => setTimeout(r, 300));
      const last = await streams.appendOnce(stream, { e: 'newest' }, { key: keyOf('once'), ttlMs: 60_000 }, { maxAgeMs: 200, maxLength: 1_000 });
      assert.equal(await streams.length(stream), 1, 'the two older than maxAgeMs are gone');
      assert.equal((await streams.newest(stream))?.id, last);
    });

    test('a reader waits for what is appended after its position, and gives up after blockMs', async () => {
      const { streams } = make();
      const stream = keyOf('stream');
      const [first] = await streams.append([{ stream, fields: { n: '1' } }]);
      const reader = streams.reader({ timeoutMs: 10_000 });
      try {
        assert.deepEqual(await reader.read(stream, first as string, { count: 10, blockMs: 10 }), []);
        const waiting = reader.read(stream, first as string, { count: 10, blockMs: 5_000 });
        await streams.append([{ stream, fields: { n: '2' } }]);
        assert.deepEqual((await waiting).map((e) => e.fields), [{ n: '2' }]);
        assert.deepEqual((await reader.range(stream, { count: 10 })).map((e) => e.fields.n), ['1', '2'], 'its own reads too');
      } finally {
        reader.close();
      }
    });
  });
}

for (const [name, make] of Object.entries(adapters)) {
  describe(`BlobStore conformance: ${name}`, () => {
    test('gives back the very bytes it was given until they lapse', async () => {
      const { blobs } = make();
      const key = keyOf('blob');
      const bytes = Buffer.from([0, 1, 2, 253, 254, 255, 0x1f, 0x8b]);
      await blobs.put(key, bytes, 20);
      bytes[0] = 9;
      assert.deepEqual(await blobs.get(key), Buffer.from([0, 1, 2, 253, 254, 255, 0x1f, 0x8b]));
      await waitFor('the bytes to lapse', async () => (await blobs.get(key)) === undefined, WAIT);
      assert.equal(await blobs.get(keyOf('never')), undefined);
    });
    test('keeps bytes put without a lifetime until they are put again with one', async () => {
      const { blobs } = make();
      const key = keyOf('blob');
      await blobs.put(key, Buffer.from('kept'), 20);
      await blobs.put(key, Buffer.from('kept'));
      const lapsed = keyOf('blob');
      await blobs.put(lapsed, Buffer.from('gone'), 20);
      await waitFor('the other bytes to lapse', async () => (await blobs.get(lapsed)) === undefined, WAIT);
      assert.deepEqual(await blobs.get(key), Buffer.from('kept'), 'outlived one put with a lifetime');
      await blobs.put(key, Buffer.from('kept'), 20);
      await waitFor('the bytes put again with a lifetime to lapse', async () => (await blobs.get(key)) === undefined, WAIT);
    });
  });
}

for (const [name, make] of Object.entries(adapters)) {
  describe(`RecordStore conformance: ${name}`, () => {
    test('reads records by id and by index; a deleted one leaves its indexes', async () => {
      const { records } = make();
      const [all, owner, type] = [keyOf('records'), keyOf('owner'), keyOf('type')];
      assert.equal(await records.insert(all, 'r1', '{"n":1}', [owner, type]), true);
      assert.equal(await records.insert(all, 'r2', '{"n":2}', [owner]), true);
      assert.equal(await records.get(all, 'r1'), '{"n":1}');
      assert.deepEqual(await records.getMany(all, ['r2', 'gone', 'r1']), ['{"n":2}', '{"n":1}']);
      assert.deepEqual((await records.listed([owner])).sort(), ['r1', 'r2']);
      assert.deepEqual((await records.listed([type, keyOf('empty')])).sort(), ['r1']);
      assert.equal(await records.delete(all, 'r1', [owner, type]), true);
      assert.equal(await records.delete(all, 'r1', [owner, type]), false);
      assert.equal(await records.get(all, 'r1'), undefined);
      assert.deepEqual(await records.listed([owner, type]), ['r2']);
    });

    test('a limited index takes no more than its limit, however many insert at once', async () => {
      const { records } = make();
      const [all, owner] = [keyOf('records'), keyOf('owner')];
      const inserted = await Promise.all(Array.from({ length: 6 }, (_, n) => records.insert(all, `r${n}`, '{}', [owner, keyOf('type')], { index: owner, max: 3 })));
      assert.equal(inserted.filter(Boolean).length, 3);
      assert.equal((await records.listed([owner])).length, 3);
    });

    test('reindex lists records stored before their indexes existed, once', async () => {
      const { records } = make();
      const [all, marker, index] = [keyOf('records'), keyOf('marker'), keyOf('index')];
      await records.insert(all, 'old', 'a', []);
      assert.equal(await records.reindex(all, marker, (record) => (record === 'a' ? [index] : [])), true);
      assert.deepEqual(await records.listed([index]), ['old']);
      assert.equal(await records.reindex(all, marker, () => [keyOf('other')]), false);
    });
  });
}
