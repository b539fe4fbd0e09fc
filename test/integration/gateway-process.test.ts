import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gatewayProcesses } from '../support/gateway-process.ts';

const nodes = gatewayProcesses();

describe('gateway processes of a test (test/support/gateway-process.ts)', () => {
  test('run as separate nodes on the shared Redis and Kafka, log to a file each, and end gracefully on SIGTERM or at once on SIGKILL', async () => {
    const [a, b] = await Promise.all([nodes.start({ name: 'a' }), nodes.start({ name: 'b' })]);
    assert.notEqual(a.nodeId, b.nodeId);
    assert.notEqual(a.child.pid, b.child.pid);
    for (const node of [a, b]) {
      assert.equal((await node.api('/v1/connectors')).status, 200, 'each answers with the test API key');
      assert.ok(node.logs().some((line) => line.level === 30 && typeof line.msg === 'string'), `${node.nodeId} logs JSON lines to ${node.logFile}`);
    }

    assert.deepEqual(await a.stop(), { code: 0, signal: null }, 'SIGTERM: main.ts shuts down and exits 0');
    assert.ok(a.logs().some((line) => line.msg === 'shutting down' && line.signal === 'SIGTERM'), 'the graceful path ran');
    assert.deepEqual(await b.kill(), { code: null, signal: 'SIGKILL' });
    assert.ok(!b.logs().some((line) => line.msg === 'shutting down'), 'nothing ran on the way out');
    await assert.rejects(fetch(`${b.url}/healthz`), 'the killed node no longer listens');
  });
});
