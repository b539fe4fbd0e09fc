import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clusterVerdict } from './cluster-verdict.ts';

const rule = { errorThresholdPercentage: 50, volumeThreshold: 10 };
const node = (nodeId: string, calls: number, failures: number) => ({ nodeId, calls, failures });

describe('the cluster verdict on a shared breaker window', () => {
  test('opens when failures past the threshold come from two nodes', () => {
    const verdict = clusterVerdict([node('a', 6, 5), node('b', 6, 6)], rule);
    assert.equal(verdict.open, true);
    assert.deepEqual(verdict.failingNodes, ['a', 'b']);
  });

  test('counts the volume across nodes: neither node alone has it', () => {
    assert.equal(clusterVerdict([node('a', 5, 5), node('b', 5, 5)], rule).open, true);
    assert.equal(clusterVerdict([node('a', 5, 5)], rule).reason, 'volume');
  });

  test('opens for a node alone in the window (a single gateway)', () => {
    assert.equal(clusterVerdict([node('a', 10, 10)], rule).open, true);
  });

  test('does not open on a fault local to one node while another succeeds', () => {
    const verdict = clusterVerdict([node('a', 30, 30), node('b', 40, 0)], { ...rule, errorThresholdPercentage: 40 });
    assert.equal(verdict.open, false);
    assert.equal(verdict.reason, 'local');
  });

  test('does not open on a local fault while the other node only watches (no calls in the window)', () => {
    assert.equal(clusterVerdict([node('a', 20, 20), node('b', 0, 0)], rule).reason, 'local');
  });

  test('a node with a few random failures below the threshold does not make a local fault cluster-wide', () => {
    const verdict = clusterVerdict([node('a', 50, 50), node('b', 50, 2), node('c', 10, 10)], rule);
    assert.deepEqual(verdict.failingNodes, ['a', 'c']);
    assert.equal(verdict.open, true, 'two failing nodes are more than one network');
    assert.equal(clusterVerdict([node('a', 50, 50), node('b', 50, 2)], { ...rule, errorThresholdPercentage: 45 }).reason, 'local');
  });

  test('stays closed at exactly the threshold, as opossum does', () => {
    assert.equal(clusterVerdict([node('a', 10, 5), node('b', 10, 5)], rule).reason, 'rate');
  });
});
