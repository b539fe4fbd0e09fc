import { Router, type Response } from 'express';
import { AppError } from '../../kernel/errors.ts';
import type { Principal } from '../../kernel/principal.ts';
import type { DispatchStore } from '../../ports/dispatch-store.ts';
import type { createRequestValidator } from '../http/openapi-validator.ts';
import { principalOf } from '../http/request-context.ts';
import type { QueueStreams } from './queue-streams.ts';
import { toQueuesView } from './queue-stats.ts';

export interface QueuesRoutesDeps {
  readonly store: Pick<DispatchStore, 'stats'>;
  readonly streams: QueueStreams;
  readonly validate: ReturnType<typeof createRequestValidator>;
  readonly now: () => number;
}

/** Whether a principal may see every queue: a supervisor, or a service (its API key acts as the system). */
export const maySeeQueues = (p: Principal): boolean => p.kind === 'service' || (p.kind === 'agent' && p.roles.includes('supervisor'));

/** The principal of a request for the queues, or FORBIDDEN for agents without the supervisor role and visitors. */
function supervisorOf(res: Response): Principal {
  const p = principalOf(res);
  if (!maySeeQueues(p)) throw new AppError('FORBIDDEN', p.kind === 'agent' ? 'only supervisors see the queues: this agent token has no supervisor role' : 'the queues are for supervisors and services');
  return p;
}

/**
 * GET /v1/queues: every group's queue and agents, from the shared dispatch store (the cluster's
 * numbers, whichever node answers); GET /v1/queues/stream: the same as Server-Sent Events, sent
 * again whenever they change. Mounted behind the chat authentication (services, agents, visitors).
 */
export function createQueuesRouter(deps: QueuesRoutesDeps): Router {
  const router = Router();
  router.get('/queues', deps.validate('listQueues'), async (_req, res) => {
    supervisorOf(res);
    const nowMs = deps.now();
    res.json(toQueuesView(await deps.store.stats(nowMs), nowMs));
  });
  router.get('/queues/stream', deps.validate('streamQueues'), (_req, res) => {
    deps.streams.open(res, supervisorOf(res).name);
  });
  return router;
}
