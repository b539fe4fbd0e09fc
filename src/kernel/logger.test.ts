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

test('every redact path is censored, in lines and in child bindings, without touching the caller\'s objects', () => {
  const { lines, sink } = capture();
  const root = createLogger({ level: 'info' }, sink);
  const connector = { clientSecret: 'c', apiToken: 't', apiKey: 'k', hmacSecret: 'h', webhookSecret: 'w', password: 'p', secret: 's', baseUrl: 'http://x' };
  const line = {
    req: { headers: { authorization: 'Bearer a', 'x-api-key': 'k1', accept: 'application/json' } },
    headers: { authorization: 'Bearer b', 'x-api-key': 'k2', 'x-signature': 'sig', host: 'h' },
    connector,
    config: { anything: 1 },
    deeper: { inner: { password: 'not a path' } },
    status: 200,
  };
  const copy = structuredClone(line);
  root.info(line, 'done');
  const R = '[redacted]';
  assert.deepEqual(lines[0], {
    ...lines[0],
    req: { headers: { authorization: R, 'x-api-key': R, accept: 'application/json' } },
    headers: { authorization: R, 'x-api-key': R, 'x-signature': R, host: 'h' },
    connector: { clientSecret: R, apiToken: R, apiKey: R, hmacSecret: R, webhookSecret: R, password: R, secret: R, baseUrl: 'http://x' },
    config: R,
    // One level under a top-level key, as the paths say (known secret values are scrubbed at any depth besides).
    deeper: { inner: { password: 'not a path' } },
    status: 200,
  });
  assert.deepEqual(line, copy, 'the logged object is not changed');
  // An error keeps what pino's serializer reads.
  const err = Object.assign(new Error('boom'), { secret: 's' });
  root.error({ err }, 'failed');
  assert.equal((lines[1]?.err as { message: string }).message, 'boom');
  assert.match((lines[1]?.err as { stack: string }).stack, /^Error: boom\n/);
  assert.equal((lines[1]?.err as { secret: string }).secret, R);
  assert.equal(err.secret, 's');
  // A child's bindings, and its children's.
  root.child({ config: { apiKey: 'k' }, module: 'm' }).child({ auth: { password: 'p' } }).info('bound');
  assert.deepEqual([lines[2]?.config, lines[2]?.auth, lines[2]?.module], [R, { password: R }, 'm']);
  // A line with nothing to censor is written as it is.
  root.info({ path: '/v1/orders/1', durationMs: 3 }, 'request done');
  assert.deepEqual([lines[3]?.path, lines[3]?.durationMs], ['/v1/orders/1', 3]);
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
