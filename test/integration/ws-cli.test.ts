import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { agentToken, CHAT_ENV, visitorSession, WIDGET_KEY } from '../support/chat-principals.ts';
import { perTestGateways, ROOT_DIR } from '../support/gateway.ts';
import { waitFor } from '../support/wait.ts';
import { wsUrlOf } from '../support/ws-client.ts';

const { gateway } = perTestGateways();
const running: ChildProcess[] = [];
after(() => running.forEach((child) => child.kill()));

/** scripts/chat.ts as a user runs it: lines in on stdin, the conversation out on stdout. */
function chatCli(url: string, token: string, conversationId?: string) {
  return chatCliWith(['--url', url, '--token', token, ...(conversationId ? ['--conversation', conversationId] : [])]);
}

function chatCliWith(options: string[]) {
  const args = [join(ROOT_DIR, 'scripts/chat.ts'), ...options];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  running.push(child);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => void (out += chunk.toString()));
  return {
    type: (line: string) => child.stdin!.write(`${line}\n`),
    waitForLine: (what: string, match: RegExp) => waitFor(what, () => out.split('\n').find((l) => match.test(l)), { detail: () => out }),
    output: () => out,
  };
}

test('two terminal clients chat as visitor and agent', async () => {
  const gw = await gateway(CHAT_ENV);
  const url = wsUrlOf(gw.url);
  const visitor = chatCli(url, (await visitorSession(gw)).token);
  await visitor.waitForLine('the visitor connected', /^\* connected .* as visitor/);
  visitor.type('hello, my order is late');
  const started = await visitor.waitForLine('the conversation started', /^\* conversation \S+/);
  const conversationId = started.split(' ')[2]!;
  const agentId = `a-${randomUUID()}`;
  const agent = chatCli(url, await agentToken(agentId), conversationId);
  await agent.waitForLine('the visitor\'s message at the agent', /visitor:\S+: hello, my order is late$/);
  agent.type('/accept');
  await visitor.waitForLine('the assignment at the visitor', /\* assigned .*agentId/);
  agent.type('sorry, it ships today');
  await visitor.waitForLine('the agent\'s answer at the visitor', new RegExp(`agent:${agentId}: sorry, it ships today$`));
  agent.type('/note wants a refund next time');
  await agent.waitForLine('the note at the agent', /\(note\): wants a refund next time$/);
  visitor.type('thanks');
  await agent.waitForLine('the visitor\'s thanks at the agent', /visitor:\S+: thanks$/);
  assert.ok(!visitor.output().includes('refund'), 'the visitor saw the internal note');
});

test("the demo's two lines: a visitor with the widget key and an agent taking the next waiting conversation", async () => {
  const gw = await gateway(CHAT_ENV);
  const url = wsUrlOf(gw.url);
  const group = `cli-${randomUUID()}`;
  const visitor = chatCliWith(['--url', url, '--widget-key', WIDGET_KEY, '--group', group]);
  await visitor.waitForLine('the visitor connected', /^\* connected .* as visitor/);
  visitor.type('is anyone there?');
  await visitor.waitForLine('the conversation started', /^\* conversation \S+/);
  const agentId = `a-${randomUUID()}`;
  const agent = chatCliWith(['--url', url, '--token', await agentToken(agentId), '--next', '--group', group]);
  await agent.waitForLine('the visitor\'s message at the agent', /visitor:\S+: is anyone there\?$/);
  await visitor.waitForLine('the claim at the visitor', new RegExp(`\\* assigned .*${agentId}`));
  agent.type('yes, how can I help?');
  await visitor.waitForLine('the agent\'s answer at the visitor', new RegExp(`agent:${agentId}: yes, how can I help\\?$`));
});
