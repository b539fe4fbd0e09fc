import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createMemoryBlobStore } from '../../adapters/memory/memory-blob-store.ts';
import { createBotMemory, MAX_BOT_MEMORY_BYTES } from './bot-memory.ts';

describe('bot memory', () => {
  test('keeps one JSON value per conversation until it expires', async () => {
    let clock = 0;
    const memory = createBotMemory({ blobs: createMemoryBlobStore({ now: () => clock }), ttlMs: 1_000 });
    assert.equal(await memory.get('c-1'), undefined);
    await memory.set('c-1', { form: 'return', orderId: 'ORD-0001234', tried: ['ORD-0001234'] });
    await memory.set('c-2', { form: 'complaint' });
    assert.deepEqual(await memory.get('c-1'), { form: 'return', orderId: 'ORD-0001234', tried: ['ORD-0001234'] });
    clock = 999;
    await memory.set('c-2', { form: 'complaint', step: 2 });
    clock = 1_000;
    assert.equal(await memory.get('c-1'), undefined, 'expired a lifetime after its last write');
    assert.deepEqual(await memory.get('c-2'), { form: 'complaint', step: 2 }, 'a write renews the lifetime');
  });

  test('refuses a value bigger than its bound, keeping what was there', async () => {
    const memory = createBotMemory({ blobs: createMemoryBlobStore(), ttlMs: 1_000 });
    await memory.set('c-1', { step: 1 });
    await assert.rejects(memory.set('c-1', { text: 'x'.repeat(MAX_BOT_MEMORY_BYTES) }), RangeError);
    assert.deepEqual(await memory.get('c-1'), { step: 1 });
  });
});
