// The bench's hop baselines: the least a proxy in front of the orders backend can do, as its own
// process like the gateway. `GET /v1/orders/{id}` → `GET {backend}/api/orders/{id}` with the
// bearer token, over a keep-alive agent; the backend's status and body go back as they came.
// No auth, no limits, no validation, no mapping, no cache, no logging, no tracing.
//
//   node bench/lib/hop-server.ts http|express PORT BACKEND_ORIGIN   (token in BENCH_HOP_TOKEN)
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import express from 'express';

const [kind, portText, origin] = process.argv.slice(2);
const token = process.env.BENCH_HOP_TOKEN ?? '';
if ((kind !== 'http' && kind !== 'express') || !portText || !origin) {
  process.stderr.write('usage: node bench/lib/hop-server.ts http|express PORT BACKEND_ORIGIN\n');
  process.exit(64);
}
const backend = new URL(origin);
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** One hop: the order from the backend, answered as it came. */
function forward(id: string, res: ServerResponse): void {
  const upstream = request(
    { host: backend.hostname, port: backend.port, path: `/api/orders/${encodeURIComponent(id)}`, agent, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } },
    (answer: IncomingMessage) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const body = Buffer.concat(chunks);
        res.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? 'application/json', 'content-length': body.length }).end(body);
      });
    },
  );
  upstream.on('error', () => res.writeHead(502).end());
  upstream.end();
}

const PATH = /^\/v1\/orders\/([^/?]+)$/;
const server = kind === 'http'
  ? createServer((req, res) => {
      const id = PATH.exec(req.url ?? '')?.[1];
      if (req.method !== 'GET' || id === undefined) return void res.writeHead(404).end();
      forward(decodeURIComponent(id), res);
    })
  : createServer(express().get('/v1/orders/:id', (req, res) => forward(String(req.params.id), res)));
server.keepAliveTimeout = 60_000;
server.listen(Number(portText), '127.0.0.1', () => process.stdout.write(`ready ${kind} ${portText}\n`));
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => server.close(() => process.exit(0)));
