// A terminal chat client for /v1/ws: each line typed is a message, incoming events are printed.
//   node scripts/chat.ts --url ws://127.0.0.1:8080/v1/ws --token <token> [--conversation <id>]
// A visitor without --conversation starts one with its first line. Lines starting with / are
// commands: /accept, /close, /handover, /note <text> (internal, staff only), /join <id>, /quit.
// It resumes after a reconnect (jittered backoff) from the last seq it printed and resends what
// was not acked, with the same ids: nothing is lost or shown twice.
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';

const { values: args } = parseArgs({ options: { url: { type: 'string', default: 'ws://127.0.0.1:8080/v1/ws' }, token: { type: 'string' }, conversation: { type: 'string' } } });
if (!args.token) {
  process.stderr.write('usage: node scripts/chat.ts --url ws://host:port/v1/ws --token <visitor token | agent JWT | API key> [--conversation <id>]\n');
  process.exit(2);
}
const token = args.token;
const out = (line: string) => process.stdout.write(`${line}\n`);
type Frame = { type: string } & Record<string, unknown>;

let conversationId = args.conversation;
let lastSeq = 0;
let me: { kind: string; id: string } | undefined;
let socket: WebSocket | undefined;
let attempt = 0;
let quitting = false;
/** Frames sent and not yet acked, by id: resent after a reconnect. */
const unacked = new Map<string, Frame>();

function send(frame: Frame): void {
  if (typeof frame.id === 'string' && frame.type !== 'subscribe' && frame.type !== 'ping') unacked.set(frame.id, frame);
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

function subscribe(id: string): void {
  conversationId = id;
  send({ type: 'subscribe', id: randomUUID(), conversationId: id, afterSeq: lastSeq });
}

function show(event: { seq: number; type: string; by: { kind: string; id: string }; visibility: string; data: Record<string, unknown> }): void {
  const who = `${event.by.kind}:${event.by.id}`;
  if (event.type === 'conversation.message_sent') {
    const body = event.data.contentType === 'card' ? `[card] ${(event.data.card as { title: string }).title}` : String(event.data.text);
    out(`[${event.seq}] ${who}${event.visibility === 'internal' ? ' (note)' : ''}: ${body}`);
  } else if (event.type !== 'conversation.read' && event.type !== 'conversation.delivered') {
    out(`[${event.seq}] * ${event.type.replace('conversation.', '')} ${JSON.stringify(event.data)} (${who})`);
  }
}

function onFrame(frame: Frame): void {
  switch (frame.type) {
    case 'welcome':
      attempt = 0;
      me = frame.principal as { kind: string; id: string };
      out(`* connected to ${String(frame.node)} as ${me.kind} ${me.id}`);
      if (conversationId) subscribe(conversationId);
      else out(me.kind === 'visitor' ? '* type a line to start a conversation' : '* /join <conversation id> to follow one');
      for (const pending of unacked.values()) socket?.send(JSON.stringify(pending));
      return;
    case 'ack':
      unacked.delete(String(frame.id));
      if (!conversationId) {
        out(`* conversation ${String(frame.conversationId)}`);
        subscribe(String(frame.conversationId));
      }
      return;
    case 'event': {
      const event = frame.event as Parameters<typeof show>[0];
      if (frame.conversationId !== conversationId || event.seq <= lastSeq) return;
      lastSeq = event.seq;
      show(event);
      if (event.type === 'conversation.message_sent' && event.by.id !== me?.id) send({ type: 'read', id: randomUUID(), conversationId, upToSeq: event.seq });
      return;
    }
    case 'typing':
      out(`* ${(frame.participant as { id: string }).id} ${frame.isTyping ? 'is typing…' : 'stopped typing'}`);
      return;
    case 'presence':
      out(`* agent ${String(frame.agentId)} is ${String(frame.status)}`);
      return;
    case 'refetch':
      out('* history before your position is gone: following from the start of what is kept');
      lastSeq = 0;
      if (conversationId) subscribe(conversationId);
      return;
    case 'error':
      if (typeof frame.id === 'string') unacked.delete(frame.id);
      out(`! ${String(frame.code)}: ${String(frame.detail)}`);
      return;
  }
}

function connect(): void {
  const ws = new WebSocket(args.url!, { headers: { authorization: `Bearer ${token}` } });
  socket = ws;
  ws.on('message', (data) => onFrame(JSON.parse(String(data)) as Frame));
  ws.on('error', () => {});
  ws.on('close', (code, reason) => {
    if (quitting) return;
    // A refused or expired token will not get better by retrying.
    if ([4001, 4401, 4403].includes(code)) {
      out(`* closed: ${code} ${String(reason)}`);
      process.exit(1);
    }
    const delayMs = Math.min(30_000, 500 * 2 ** attempt++) * (0.5 + Math.random() / 2);
    out(`* closed (${code}${reason.length > 0 ? ` ${String(reason)}` : ''}): reconnecting in ${Math.round(delayMs)} ms`);
    setTimeout(connect, delayMs);
  });
}

const commands: Record<string, (rest: string) => void> = {
  join: (id) => {
    lastSeq = 0;
    subscribe(id);
  },
  note: (text) => conversationId && send({ type: 'message.send', id: randomUUID(), conversationId, contentType: 'text', text, visibility: 'internal' }),
  quit: () => {
    quitting = true;
    socket?.close();
    process.exit(0);
  },
};

createInterface({ input: process.stdin }).on('line', (line) => {
  const text = line.trim();
  if (text === '') return;
  const command = /^\/(\w+)\s*(.*)$/.exec(text);
  if (command) {
    const [, name = '', rest = ''] = command;
    if (commands[name]) return void commands[name](rest);
    if (!conversationId) return out('! join a conversation first');
    return send({ type: 'command', id: randomUUID(), conversationId, command: name });
  }
  if (!conversationId) {
    if (me?.kind !== 'visitor') return out('! /join <conversation id> first');
    if ([...unacked.values()].some((f) => f.type === 'conversation.start')) return out('! starting…');
    return send({ type: 'conversation.start', id: randomUUID(), text });
  }
  send({ type: 'message.send', id: randomUUID(), conversationId, contentType: 'text', text });
});

connect();
