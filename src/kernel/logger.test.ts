import assert from 'node:assert/strict';
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
