import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bucketKey, bucketTag, outboxBucketOf } from './outbox-buckets.ts';

test('a partition key always maps to the same bucket, within the bucket count', () => {
  for (const key of ['order-1', 'T-42', 'conversation:7f3a', '']) {
    const bucket = outboxBucketOf(key, 16);
    assert.equal(outboxBucketOf(key, 16), bucket);
    assert.ok(bucket >= 0 && bucket < 16);
  }
});

test('keys spread over every bucket', () => {
  const counts = new Array<number>(16).fill(0);
  for (let i = 0; i < 1_600; i++) counts[outboxBucketOf(`order-${i}`, 16)]! += 1;
  assert.ok(counts.every((c) => c > 50), `uneven spread: ${counts.join(',')}`);
});

test('bucket keys carry the bucket hash tag first, so they share its Redis Cluster slot', () => {
  assert.equal(bucketTag(7), '{ob-7}');
  assert.equal(bucketKey(7), 'omnigate:outbox:{ob-7}');
  assert.equal(bucketKey(7, 'node-a'), 'omnigate:outbox:{ob-7}:node:node-a');
});
