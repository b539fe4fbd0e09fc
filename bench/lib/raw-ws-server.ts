// The baseline: a bare `ws` server speaking just enough of the chat protocol for the benches: no
// auth, no store, no durability; it keeps each conversation's subscribers and a counter in memory
// and relays a message to them as soon as it arrives. Run as its own process:
//   node bench/lib/raw-ws-server.ts <port>        (prints "ready" on stdout once listening)
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

interface Conversation {
  seq: number;
  readonly subscribers: Set<WebSocket>;
}

/** Starts the relay on 127.0.0.1:port; resolves once it listens. */
export async function startRawWsServer(port: number): Promise<{ close(): Promise<void> }> {
  const server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, path: '/v1/ws', perMessageDeflate: false });
  const conversations = new Map<string, Conversation>();
  let sockets = 0;
  const conversation = (id: string): Conversation => {
    let c = conversations.get(id);
    if (!c) conversations.set(id, (c = { seq: 0, subscribers: new Set() }));
    return c;
  };
  // Shaped like the gateway's stored event, so each side frames and sends as many bytes.
  const eventFrame = (conversationId: string, seq: number, author: string, clientId: string, text: string): string =>
    JSON.stringify({
      type: 'event',
      conversationId,
      event: {
        seq, id: randomUUID(), type: 'conversation.message_sent', at: new Date().toISOString(), by: { kind: 'visitor', id: author }, visibility: 'public',
        data: { messageId: randomUUID(), clientId, author: { kind: 'visitor', id: author }, visibility: 'public', contentType: 'text', text },
      },
    });

  wss.on('connection', (ws) => {
    const me = `raw-${++sockets}`;
    const mine = new Set<string>();
    ws.send(JSON.stringify({ type: 'welcome', node: 'raw', principal: { kind: 'visitor', id: me }, heartbeatMs: 0 }));
    ws.on('message', (data: Buffer) => {
      let frame: { type?: string; id?: string; conversationId?: string; text?: string };
      try {
        frame = JSON.parse(data.toString()) as typeof frame;
      } catch {
        return void ws.send(JSON.stringify({ type: 'error', code: 'VALIDATION_FAILED', title: 'bad frame', detail: 'not JSON', retryable: false }));
      }
      const { type, id = '' } = frame;
      if (type === 'conversation.start') {
        const conversationId = randomUUID();
        const c = conversation(conversationId);
        c.seq += frame.text ? 3 : 2;
        c.subscribers.add(ws);
        mine.add(conversationId);
        return void ws.send(JSON.stringify({ type: 'ack', id, conversationId, seq: c.seq, duplicate: false }));
      }
      const conversationId = frame.conversationId ?? '';
      if (type === 'subscribe') {
        const c = conversation(conversationId);
        c.subscribers.add(ws);
        mine.add(conversationId);
        ws.send(JSON.stringify({ type: 'subscribed', id, conversationId, headSeq: Math.max(c.seq, 1) }));
        // The one message a subscriber receives (the gateway replays the conversation's first).
        return void ws.send(eventFrame(conversationId, Math.max(c.seq, 1), me, id, 'hello'));
      }
      if (type === 'message.send') {
        const c = conversation(conversationId);
        const seq = ++c.seq;
        ws.send(JSON.stringify({ type: 'ack', id, conversationId, seq, duplicate: false }));
        const out = eventFrame(conversationId, seq, me, id, frame.text ?? '');
        for (const peer of c.subscribers) if (peer !== ws) peer.send(out);
        return;
      }
      if (type === 'command' || type === 'read') return void ws.send(JSON.stringify({ type: 'ack', id, conversationId, seq: ++conversation(conversationId).seq, duplicate: false }));
      if (type === 'ping') return void ws.send(JSON.stringify({ type: 'pong', id }));
    });
    ws.on('close', () => {
      for (const conversationId of mine) {
        const c = conversations.get(conversationId);
        c?.subscribers.delete(ws);
        if (c && c.subscribers.size === 0) conversations.delete(conversationId);
      }
    });
    ws.on('error', () => ws.terminate());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.close(() => resolve());
      }),
  };
}

if (import.meta.filename === process.argv[1]) {
  const port = Number(process.argv[2]);
  const running = await startRawWsServer(port);
  process.stdout.write('ready\n');
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void running.close().then(() => process.exit(0)));
}
