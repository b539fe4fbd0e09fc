import { Router, type Request, type Response } from 'express';
import { AppError } from '../../kernel/errors.ts';
import { inputOf, type createRequestValidator } from '../http/openapi-validator.ts';
import { principalOf } from '../http/request-context.ts';
import type { EventStreams } from './event-streams.ts';

const POSITION = /^\d{1,20}-\d{1,20}$/;

/**
 * GET /v1/events/stream: Server-Sent Events for frontends. Filtered by type and subject;
 * resumable with Last-Event-ID (the header, or `lastEventId` for clients that cannot set it).
 */
export function createEventsRouter(deps: { streams: EventStreams; validate: ReturnType<typeof createRequestValidator> }): Router {
  const router = Router();
  router.get('/events/stream', deps.validate('streamEvents'), (req: Request, res: Response) => {
    const { query } = inputOf(res);
    const header = req.get('last-event-id');
    // An empty header means "no id yet", as EventSource has it; the query form is checked by the spec.
    const resumeFrom = header !== undefined && header !== '' ? header : (query.lastEventId as string | undefined);
    if (resumeFrom !== undefined && !POSITION.test(resumeFrom)) {
      const message = 'Last-Event-ID must be an id this stream sent (<ms>-<seq>)';
      throw new AppError('VALIDATION_FAILED', message, { errors: [{ in: 'header', pointer: '/Last-Event-ID', message }] });
    }
    deps.streams.open(res, {
      owner: principalOf(res).name,
      types: new Set((query.type as string[] | undefined) ?? []),
      subject: query.subject as string | undefined,
      resumeFrom,
    });
  });
  return router;
}
