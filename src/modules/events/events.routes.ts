import { Router, type Request, type Response } from 'express';
import { inputOf, type createRequestValidator } from '../http/openapi-validator.ts';
import type { EventLog, LoggedEvent } from './event-log.ts';

export const SSE_HEARTBEAT_MS = 15_000;
const REPLAY_PAGE = 500;

/** Stream entry ids are `<ms>-<seq>`: compare them as numbers. */
function isAfter(position: string, than: string): boolean {
  const [a = 0, b = 0] = position.split('-').map(Number);
  const [c = 0, d = 0] = than.split('-').map(Number);
  return a > c || (a === c && b > d);
}

/**
 * GET /v1/events/stream: Server-Sent Events for frontends. Filtered by type and subject;
 * resumable with Last-Event-ID (the header, or `lastEventId` for clients that cannot set it).
 */
export function createEventsRouter(deps: { eventLog: EventLog; validate: ReturnType<typeof createRequestValidator> }): Router {
  const router = Router();
  router.get('/events/stream', deps.validate('streamEvents'), async (req: Request, res: Response) => {
    const { query } = inputOf(res);
    const types = new Set((query.type as string[] | undefined) ?? []);
    const subject = query.subject as string | undefined;
    const resumeFrom = req.get('last-event-id') ?? (query.lastEventId as string | undefined);
    const wanted = ({ event }: LoggedEvent) => (types.size === 0 || types.has(event.type)) && (subject === undefined || event.subject === subject);

    res.status(200).set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    let sentUpTo = resumeFrom ?? '0-0';
    const send = (entry: LoggedEvent) => {
      if (!isAfter(entry.position, sentUpTo)) return;
      sentUpTo = entry.position;
      if (wanted(entry)) res.write(`id: ${entry.position}\nevent: ${entry.event.type}\ndata: ${JSON.stringify(entry.event)}\n\n`);
    };

    // Live entries wait while the replay runs, so nothing falls between the two.
    const waiting: LoggedEvent[] = [];
    let replaying = resumeFrom !== undefined;
    const stopTail = deps.eventLog.tail((entry) => (replaying ? waiting.push(entry) : send(entry)));
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
    res.on('close', () => {
      stopTail();
      clearInterval(heartbeat);
    });
    res.write(': connected\n\n');
    if (resumeFrom !== undefined) {
      for (let page = await deps.eventLog.after(resumeFrom, REPLAY_PAGE); page.length > 0; page = await deps.eventLog.after(sentUpTo, REPLAY_PAGE)) {
        for (const entry of page) send(entry);
      }
      replaying = false;
      for (const entry of waiting.splice(0)) send(entry);
    }
  });
  return router;
}
