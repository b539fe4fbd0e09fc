// A terminal chat client for /v1/ws: each line typed is a message, incoming events are printed.
//   node scripts/chat.ts --widget-key <key> [--group <g>]          a visitor (opens its own widget session)
//     [--customer <id> --identity-secret <secret>]                 … a verified customer of the shop, as its site would sign it
//   node scripts/chat.ts --token <agent JWT> --next [--group <g>]  an agent: takes the next conversation offered
//                                                                   (routing dispatch), else the oldest waiting
//   node scripts/chat.ts --token <token> [--conversation <id>]     any token (visitor, agent, API key)
// --url defaults to ws://127.0.0.1:8080/v1/ws (the demo). A visitor without --conversation starts
// one with its first line. Lines starting with / are commands: /accept, /close, /handover,
// /note <text> (internal, staff only), /join <id>, /next, /take (the last offer), /quit.
// It resumes after a reconnect (jittered backoff) from the last seq it printed and resends what
// was not acked, with the same ids: nothing is lost or shown twice.
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { customerHmac } from '../src/modules/identity/widget-keys.ts';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'ws://127.0.0.1:8080/v1/ws' }, token: { type: 'string' }, conversation: { type: 'string' },
    'widget-key': { type: 'string' }, customer: { type: 'string' }, 'identity-secret': { type: 'string' }, group: { type: 'string' }, next: { type: 'boolean', default: false },
  },
});
if (!args.token && !args['widget-key']) {
  process.stderr.write('usage: node scripts/chat.ts [--url ws://host:port/v1/ws] (--widget-key <key> [--customer <id> --identity-secret <secret>] | --token <visitor token | agent JWT | API key>) [--next] [--group <g>] [--conversation <id>]\n');
  process.exit(2);
}
/** The gateway's HTTP base, from the socket URL. */
const httpUrl = args.url!.replace(/^ws/, 'http').replace(/\/v1\/ws.*$/, '');

/** A visitor's token: a widget session opened as the site's widget would (POST /v1/widget/sessions). */
async function widgetSession(key: string): Promise<string> {
  // A verified customer: the site signs the customer id with its identity secret (HMAC-SHA256).
  const proof = args.customer && args['identity-secret'] ? { customerId: args.customer, customerHmac: customerHmac(args['identity-secret'], args.customer) } : {};
  const res = await fetch(`${httpUrl}/v1/widget/sessions`, { method: 'POST', headers: { 'x-widget-key': key, 'content-type': 'application/json' }, body: JSON.stringify(proof) });
  const body = (await res.json()) as { token?: string; detail?: string };
  if (!body.token) {
    process.stderr.write(`widget session refused: ${res.status} ${body.detail ?? ''}\n`);
    process.exit(1);
  }
  return body.token;
}
const token = args.token ?? (await widgetSession(args['widget-key']!));
const out = (line: string) => process.stdout.write(`${line}\n`);
type Frame = { type: string } & Record<string, unknown>;

let conversationId = args.conversation;
let lastSeq = 0;
let me: { kind: string; id: string } | undefined;
let socket: WebSocket | undefined;
let attempt = 0;
let quitting = false;
/** Waiting for the next conversation (--next, /next): the first offer made to this agent is taken. */
let waitingNext = false;
/** With routing dispatch, offers come within this long of coming online; without (manual dispatch), the oldest waiting is taken after it. */
const QUEUE_FALLBACK_MS = 2_000;
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
      else if (args.next && me.kind !== 'visitor') void takeNext();
      else out(me.kind === 'visitor' ? '* type a line to start a conversation' : '* /join <conversation id> or /next to follow one');
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
    case 'offer': {
      out(`* offered ${String(frame.conversationId)} (priority ${String(frame.priority)}, ${String(frame.reason)}) until ${String(frame.expiresAt)}${waitingNext ? '' : ': /take to accept it'}`);
      lastOffer = { conversationId: String(frame.conversationId), offerId: String(frame.offerId) };
      if (waitingNext) take(lastOffer);
      return;
    }
    case 'queue':
      out(`* your place in the queue: ${String(frame.position)}${frame.estimatedWaitMs === null ? '' : ` (about ${Math.ceil(Number(frame.estimatedWaitMs) / 1000)} s)`}`);
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

let lastOffer: { conversationId: string; offerId: string } | undefined;
/** Follows an offered conversation and accepts the offer. */
function take(offer: { conversationId: string; offerId: string }): void {
  waitingNext = false;
  lastSeq = 0;
  subscribe(offer.conversationId);
  send({ type: 'command', id: randomUUID(), conversationId: offer.conversationId, command: 'accept', offerId: offer.offerId });
}

/**
 * Takes the next conversation: the first one offered to this agent (routing dispatch offers the
 * most urgent first); with none offered (manual dispatch), the oldest queued one (in --group, if
 * given). Another agent may win that claim; then it takes the next.
 */
async function takeNext(): Promise<void> {
  out(`* waiting for a conversation${args.group ? ` in ${args.group}` : ''}…`);
  waitingNext = true;
  await new Promise((r) => setTimeout(r, QUEUE_FALLBACK_MS));
  while (waitingNext) {
    const query = new URLSearchParams({ state: 'queued', limit: '100', ...(args.group ? { group: args.group } : {}) });
    const res = await fetch(`${httpUrl}/v1/conversations?${query}`, { headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
    const items = res?.ok ? ((await res.json()) as { items: { id: string }[] }).items : [];
    const oldest = items.at(-1);
    if (!waitingNext) return;
    if (oldest) {
      waitingNext = false;
      lastSeq = 0;
      subscribe(oldest.id);
      send({ type: 'command', id: randomUUID(), conversationId: oldest.id, command: 'accept' });
      return;
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

const commands: Record<string, (rest: string) => void> = {
  next: () => void takeNext(),
  take: () => (lastOffer ? take(lastOffer) : out('! no offer yet')),
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
    if (!conversationId) return out('! /join or /next first');
    return send({ type: 'command', id: randomUUID(), conversationId, command: name });
  }
  if (!conversationId) {
    if (me?.kind !== 'visitor') return out('! /join <conversation id> or /next first');
    if ([...unacked.values()].some((f) => f.type === 'conversation.start')) return out('! starting…');
    return send({ type: 'conversation.start', id: randomUUID(), text, ...(args.group ? { group: args.group } : {}) });
  }
  send({ type: 'message.send', id: randomUUID(), conversationId, contentType: 'text', text });
});

connect();
