// A gateway in a process of its own that publishes events the way request handlers do: one
// `events.publish()` per event, many at once, at a steady rate. bench/events.ts forks it, watches
// the events arrive from outside (its own Kafka consumer and an SSE client) and tells it when to
// start and stop. Messages to the parent (event-bench.ts, with what else the two share): ready,
// a tick once a second, done. Importing this file runs it.
import { resolve } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.ts';
import { cloudEvent } from '../../src/kernel/events.ts';
import { startGateway } from '../../src/gateway.ts';
import { EVENTS_BENCH_KEY, wallNow, type PublisherCommand, type PublisherReport } from './event-bench.ts';

/** Events waiting for Redis at most: past this the publisher is behind, and counts it, rather than queueing without bound. */
const MAX_OUTSTANDING = 5_000;
const TICK_MS = 5;

const root = resolve(import.meta.dirname, '..', '..');
const send = (report: PublisherReport) => process.send?.(report);
const gw = await startGateway(loadConfig({ ...process.env, PORT: '0', LOG_LEVEL: 'warn' } as Record<string, string>, root), pino({ level: 'warn' }, pino.destination(2)), root);
send({ ready: { url: gw.url } });

let stopping = false;
let published = 0;
let outstanding = 0;
let behind = 0;

async function publishAtRate({ rate, seconds, run, bytes }: { rate: number; seconds: number; run: string; bytes: number }) {
  // Padding that makes each event's JSON about `bytes` long.
  const sample = JSON.stringify(cloudEvent({ source: '/bench', type: 'bench.sustained', subject: 'k00', partitionkey: 'k00', data: { run, i: 0, at: wallNow(), pad: '' } }));
  const pad = 'x'.repeat(Math.max(0, bytes - sample.length - 4));
  const started = performance.now();
  const cpu = process.cpuUsage();
  const ticker = setInterval(() => {
    void gw.events.outbox.depth().then((depth) => send({ tick: { published, behind, depth } }), () => undefined);
  }, 1_000);
  while (!stopping && performance.now() - started < seconds * 1_000) {
    const due = Math.floor(((performance.now() - started) / 1_000) * rate) - published - behind;
    for (let n = 0; n < due; n++) {
      if (outstanding >= MAX_OUTSTANDING) {
        behind += due - n;
        break;
      }
      const key = `k${published % 50}`;
      outstanding += 1;
      const event = cloudEvent({ source: '/bench', type: 'bench.sustained', subject: key, partitionkey: key, data: { run, i: published, at: wallNow(), pad } });
      published += 1;
      void gw.events.publish([event]).finally(() => (outstanding -= 1));
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  clearInterval(ticker);
  while (outstanding > 0) await new Promise((r) => setTimeout(r, 5));
  const ended = performance.now();
  // Until the outbox is empty (bounded): what the relay still had to send when publishing stopped.
  let depth = await gw.events.outbox.depth();
  while (depth > 0 && performance.now() - ended < 30_000) {
    await new Promise((r) => setTimeout(r, 50));
    depth = await gw.events.outbox.depth();
  }
  // This process's CPU (every thread) from the first publish until the outbox was empty: what the events cost the gateway.
  const { user, system } = process.cpuUsage(cpu);
  const metrics = await (await fetch(`${gw.url}/metrics`, { headers: { 'x-api-key': EVENTS_BENCH_KEY } })).text();
  const dropped = Number(/^omnigate_events_dropped_total (\d+)/m.exec(metrics)?.[1] ?? 0);
  send({ done: { published, drainedMs: Math.round(performance.now() - ended), depth, cpuMs: Math.round((user + system) / 1_000), dropped } });
}

process.on('message', (command: PublisherCommand) => {
  if ('start' in command) void publishAtRate(command.start);
  else {
    stopping = true;
    void gw.stop().then(() => process.exit(0));
  }
});
process.on('disconnect', () => void gw.stop().then(() => process.exit(0)));
