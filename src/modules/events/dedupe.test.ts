import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryDedupeStore } from '../../adapters/memory/memory-dedupe-store.ts';
import { cloudEvent } from '../../kernel/events.ts';
import type { CloudEvent } from '../../ports/event-bus.ts';
import { createMetrics } from '../observability/metrics.ts';
import { deduplicatedBatch } from './dedupe.ts';

const event = (n: number) => cloudEvent({ source: '/test', type: 'test.counted', partitionkey: 'k', data: { n }, id: `e${n}` });

test('a batch handler gets each event once: repeats within a batch, and events handled before, are dropped', async () => {
  const metrics = createMetrics();
  const got: number[][] = [];
  const handler = deduplicatedBatch('g', async (events) => void got.push(events.map((e) => (e.data as { n: number }).n)), { dedupe: createMemoryDedupeStore(), metrics });
  await handler([event(1), event(2), event(1)]);
  await handler([event(2), event(3)]);
  await handler([event(3)]);
  assert.deepEqual(got, [[1, 2], [3]]);
  const duplicates = (await metrics.eventsDuplicate.get()).values.find((v) => v.labels.group === 'g')?.value;
  assert.equal(duplicates, 3);
});

test('a batch whose handler fails is not marked: it is handled when it comes again', async () => {
  const dedupe = createMemoryDedupeStore();
  let fail = true;
  const got: CloudEvent[][] = [];
  const handler = deduplicatedBatch('g', async (events) => {
    if (fail) throw new Error('not yet');
    got.push([...events]);
  }, { dedupe, metrics: createMetrics() });
  await assert.rejects(handler([event(1), event(2)]), /not yet/);
  fail = false;
  await handler([event(1), event(2)]);
  assert.deepEqual(got.map((b) => b.map((e) => e.id)), [['e1', 'e2']]);
  assert.deepEqual(await dedupe.hasMany(['omnigate:seen:g:e1', 'omnigate:seen:g:e2']), [true, true], 'marked in the store for the other nodes');
});
