import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT_DIR } from '../support/gateway.ts';
import { port } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

/** Runs the command the demo printed after `label: ` (node scripts/chat.ts …), lines in on stdin. */
function printedChat(out: string, label: string) {
  const line = new RegExp(`^${label}: node (scripts/chat\\.ts .*)$`, 'm').exec(out)?.[1];
  assert.ok(line, `no "${label}" line in:\n${out.slice(-2000)}`);
  const child = spawn(process.execPath, line.split(' '), { cwd: ROOT_DIR, stdio: ['pipe', 'pipe', 'inherit'] });
  let text = '';
  child.stdout.on('data', (c: Buffer) => (text += c.toString()));
  return {
    type: (l: string) => child.stdin.write(`${l}\n`),
    waitFor: (what: string, match: RegExp, also?: () => string) => waitFor(what, () => match.test(text), { detail: () => `${text}${also ? `\n--- the other side:\n${also()}` : ''}` }),
    output: () => text,
    stop: () => child.kill(),
  };
}

/** Runs a printed `node …` command to its end (never blocking this process: the demo's output keeps flowing). */
function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, args, { cwd: ROOT_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })));
}

/** Closes every open conversation (queued, assigned, snoozed) of the demo, as a service. */
async function closeOpen(base: string, headers: Record<string, string>): Promise<void> {
  for (const state of ['queued', 'assigned', 'pending']) {
    for (let cursor: string | undefined, pages = 0; pages < 100; pages++) {
      const page = (await (await fetch(`${base}/v1/conversations?state=${state}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers })).json()) as { items: { id: string; status: string }[]; next?: string };
      for (const { id, status } of page.items) if (status === state) await fetch(`${base}/v1/conversations/${id}/close`, { method: 'POST', headers });
      if ((cursor = page.next) === undefined) break;
    }
  }
}

// The README's demo command, end to end (the install step is what .ci/run just did).
describe('the demo', () => {
  test('starts every service, prints a ready line whose curl answers from all three backends, and Ctrl-C stops it all', async () => {
    const ports = { PORT: String(port(28080)), ORDERS_PORT: String(port(28081)), CRM_PORT: String(port(28082)), TICKETS_PORT: String(port(28083)), REDIS_PORT: String(port(26379)), REDIS_CACHE_PORT: String(port(26380)), KAFKA_PORT: String(port(29092)), KAFKA_CONTROLLER_PORT: String(port(29093)) };
    const demo = spawn(process.execPath, [join(ROOT_DIR, 'scripts/demo.ts')], { cwd: ROOT_DIR, env: { ...process.env, OMNIGATE_RATE_LIMIT_PER_KEY: undefined, ...ports }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    demo.stdout.on('data', (c: Buffer) => (out += c.toString()));
    demo.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
    // Every step of the demo's start is bounded (Kafka, Redis, the backends, then its own
    // DEMO_READY_TIMEOUT_MS for the gateway), and it exits when one gives up: wait for the ready
    // line or that exit, however long a loaded machine takes.
    const readyLine = new Promise<void>((resolve) => demo.stdout.on('data', () => out.includes('Omnigate ready at') && resolve()));
    try {
      await Promise.race([readyLine, exited]);
      const line = out.split('\n').find((l) => l.startsWith('Omnigate ready at'));
      assert.ok(line, `no ready line in:\n${out.slice(-2000)}`);
      const curl = /try: curl -s -H 'X-Api-Key: ([^']+)' (\S+)$/.exec(line);
      assert.ok(curl, line);
      const res = await fetch(curl[2] ?? '', { headers: { 'x-api-key': curl[1] ?? '' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('ratelimit-limit'), '100000', "the demo key's limit, as the README says");
      const body = (await res.json()) as { complete: boolean; parts: Record<string, { connector: string; status: string }> };
      assert.equal(body.complete, true);
      assert.deepEqual(Object.values(body.parts).map((p) => p.connector).sort(), ['crm-python', 'orders-java', 'tickets-node']);
      // Who talks: the printed agent and supervisor tokens open the chat API, the widget key opens a visitor session.
      const base = curl[2]?.replace(/\/v1\/.*$/, '') ?? '';
      for (const label of ['Agent token', 'Supervisor token']) {
        const token = new RegExp(`^${label} \\([^)]*\\): (\\S+)$`, 'm').exec(out)?.[1];
        assert.ok(token, `no ${label} line in:\n${out.slice(-2000)}`);
        assert.equal((await fetch(`${base}/v1/ws/tickets`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status, 201, label);
      }
      const widgetKey = /^Widget key \(site demo\): (\S+)/m.exec(out)?.[1];
      assert.ok(widgetKey, 'no widget key line');
      assert.equal((await fetch(`${base}/v1/widget/sessions`, { method: 'POST', headers: { 'x-widget-key': widgetKey } })).status, 201);
      // The demo's Redis outlives a run: conversations an earlier run left open would be offered to ada first.
      const apiKey = { 'x-api-key': curl[1] ?? '' };
      await closeOpen(base, apiKey);
      // The two printed lines chat: the visitor's first line starts a conversation, the agent takes it.
      const visitor = printedChat(out, 'Chat as a visitor');
      const agent = printedChat(out, 'Chat as agent ada');
      try {
        await visitor.waitFor('the visitor connected', /^\* connected .* as visitor/m);
        visitor.type('hello from the demo');
        await visitor.waitFor('the conversation started', /^\* conversation \S+/m);
        // The built-in bot answers first; "转人工" hands the conversation to the queue, and ada.
        await visitor.waitFor("the bot's answer", /^\[\d+\] bot:builtin: /m);
        visitor.type('转人工');
        await agent.waitFor("the visitor's line at the agent", /visitor:\S+: hello from the demo$/m);
        await visitor.waitFor('the claim at the visitor', /\* assigned .*ada/m, agent.output);
      } finally {
        visitor.stop();
        agent.stop();
      }
      // The printed VIP line: a standard customer, then a VIP; routing puts the VIP first and says why.
      const vipLine = /^See a VIP jump the queue: node (scripts\/vip-demo\.ts .*)$/m.exec(out)?.[1];
      assert.ok(vipLine, `no VIP line in:\n${out.slice(-2000)}`);
      const vip = await run(vipLine.split(' '));
      assert.equal(vip.status, 0, vip.stderr);
      assert.match(vip.stdout, /^standard customer 38: conversation \S+ → group general, priority 0 /m);
      assert.match(vip.stdout, /^VIP customer 145: conversation \S+ → group general, priority 50 \(tier vip; rules fired: vip\)/m);
      const why = /Why: curl -s -H 'X-Api-Key: ([^']+)' (\S+)$/m.exec(vip.stdout);
      assert.ok(why, vip.stdout);
      const routing = (await (await fetch(why[2] ?? '', { headers: { 'x-api-key': why[1] ?? '' } })).json()) as { decision: { priority: number } };
      assert.equal(routing.decision.priority, 50);
      // The printed bot line: a question about an order in Chinese, answered from the orders backend, handed to ada, then the order's lineage.
      const botLine = /^Ask the bot about an order in Chinese, be handed to ada, then see the order's lineage: node (scripts\/bot-demo\.ts .*)$/m.exec(out)?.[1];
      assert.ok(botLine, `no bot line in:\n${out.slice(-2000)}`);
      const bot = await run(botLine.split(' '));
      assert.equal(bot.status, 0, bot.stderr);
      const orderId = /^visitor \(customer 42\): 我的订单(ORD-\d{7})到哪了/m.exec(bot.stdout)?.[1];
      assert.ok(orderId, bot.stdout);
      assert.match(bot.stdout, new RegExp(`^bot: .*订单${orderId}`, 'm'));
      assert.match(bot.stdout, /^agent ada accepted the conversation$/m);
      assert.match(bot.stdout, /the bot's findings: .*"intent":"order_status"/);
      assert.match(bot.stdout, new RegExp(`^lineage of ${orderId}: \\S+ conversation \\S+ by bot:builtin \\(order\\.get; shown: order details, verified customer\\)$`, 'm'));
      // Nothing left open for the next demo on this machine's Redis.
      await closeOpen(base, apiKey);
    } finally {
      demo.kill('SIGINT');
    }
    assert.equal(await exited, 0);
    for (const port of Object.values(ports)) {
      await assert.rejects(fetch(`http://127.0.0.1:${port}/`), `port ${port} is still open`);
    }
  });
});
