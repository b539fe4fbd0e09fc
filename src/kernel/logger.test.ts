import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { createLogger, lazyChild } from './logger.ts';

const capture = () => {
  const lines: Record<string, unknown>[] = [];
  return { lines, sink: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
};

test('a lazy child writes what a pino child would, bindings and redaction included, and only makes the child when it logs', () => {
  const { lines, sink } = capture();
  const root = createLogger({ level: 'debug' }, sink);
  let made = 0;
  const counted = new Proxy(root, { get: (t, p) => (p === 'child' ? (...a: Parameters<typeof root.child>) => (made++, t.child(...a)) : Reflect.get(t, p, t)) });
  const request = lazyChild(counted, { reqId: 'r1' });
  const call = lazyChild(request, { connector: 'orders-java' });
  assert.deepEqual(call.bindings(), root.child({ reqId: 'r1' }).child({ connector: 'orders-java' }).bindings());
  assert.equal(made, 0, 'bindings() makes no child');
  call.warn({ headers: { authorization: 'Bearer x' } }, 'odd');
  assert.equal(made, 1);
  const [line] = lines;
  assert.equal(line?.reqId, 'r1');
  assert.equal(line?.connector, 'orders-java');
  assert.equal(line?.msg, 'odd');
  assert.deepEqual(line?.headers, { authorization: '[redacted]' });
  call.info('again');
  assert.equal(made, 1, 'made once');
  const quiet = lazyChild(createLogger({ level: 'info' }, sink), { reqId: 'r2' });
  quiet.debug('dropped');
  assert.equal(lines.length, 2, 'a line below the level is dropped');
  quiet.info('kept');
  assert.equal(lines[2]?.reqId, 'r2');
  assert.equal(call.level, 'debug');
});

test('to stdout, lines are batched: an idle line still goes out within LOG_FLUSH_MS, and what is batched at exit is written', async () => {
  // A process of its own: the batching is the real stdout destination's.
  const script = `
    import { createLogger } from ${JSON.stringify(new URL('./logger.ts', import.meta.url).href)};
    const log = createLogger({ level: 'info' });
    log.info('idle line');
    setTimeout(() => { log.info('last line'); process.exit(0); }, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const started = Date.now();
  const seen: { msg: string; afterMs: number }[] = [];
  let rest = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) seen.push({ msg: (JSON.parse(line) as { msg: string }).msg, afterMs: Date.now() - started });
  });
  const [code] = (await once(child, 'close')) as [number];
  assert.equal(code, 0);
  assert.deepEqual(seen.map((s) => s.msg), ['idle line', 'last line']);
  // Not held until the exit a second later: out with the first flush (start-up included, well under 1 s).
  assert.ok(seen[1]!.afterMs - seen[0]!.afterMs > 500, JSON.stringify(seen));
});
