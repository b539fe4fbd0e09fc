import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { probePort } from '../../scripts/lib/probe.ts';
import { ROOT_DIR } from '../support/gateway.ts';

// A set-up of its own, on ports below every other test's (they all sit at 16379 and up).
const OFFSET = Number(process.env.OMNIGATE_TEST_PORT_OFFSET ?? 0) - 5_000;
const at = (base: number): number => base + OFFSET;

describe('the test run set-up', () => {
  test('stops the services it already started when one fails to start', async () => {
    const squatter = createServer().listen(at(19092), '127.0.0.1');
    await new Promise((resolve) => squatter.once('listening', resolve));
    try {
      const setup = spawn(process.execPath, ['--input-type=module', '-e', "await (await import('./test/support/global-setup.ts')).globalSetup();"], {
        cwd: ROOT_DIR,
        env: { ...process.env, OMNIGATE_TEST_PORT_OFFSET: String(OFFSET) },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      setup.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => setup.once('exit', resolve));
      assert.notEqual(code, 0);
      assert.match(stderr, new RegExp(`port ${at(19092)} for kafka \\(port\\) is already in use`));
      for (const [what, base] of [['durable redis', 16379], ['cache redis', 16380], ['redis cluster', 16395], ['orders', 18081], ['crm', 18082], ['tickets', 18083]] as const) {
        assert.equal(await probePort(at(base)), false, `${what} on ${at(base)} was left running`);
      }
    } finally {
      squatter.close();
      for (const dir of [`test-redis-${at(16379)}`, `test-redis-cluster-${at(16395)}`, `test-kafka-${at(19092)}`]) rmSync(join(ROOT_DIR, '.data', dir), { recursive: true, force: true });
    }
  });
});
