import { Router } from 'express';
import { AppError } from '../../kernel/errors.ts';
import { inputOf, type createRequestValidator } from '../http/openapi-validator.ts';
import { principalOf } from '../http/request-context.ts';
import type { JobListState, JobQueues } from './job-queues.ts';

export interface JobsRoutesDeps {
  readonly jobs: JobQueues;
  readonly validate: ReturnType<typeof createRequestValidator>;
}

/** GET /v1/jobs/{id}: a job, for the key that queued it only (anyone else gets 404, as for no job). */
export function createJobsRouter({ jobs, validate }: JobsRoutesDeps): Router {
  const router = Router();
  router.get('/jobs/:id', validate('getJob'), async (_req, res) => {
    const id = String(inputOf(res).path.id);
    const found = await jobs.find(id);
    if (!found || found.owner !== principalOf(res).name) throw new AppError('NOT_FOUND', `no job ${id}`);
    res.json(found.view);
  });
  return router;
}

/** /v1/admin/jobs: the dead letters (and the other states) of every queue, and retrying a dead job. */
export function createJobsAdminRouter({ jobs, validate }: JobsRoutesDeps): Router {
  const router = Router();
  router.get('/jobs', validate('listJobs'), async (_req, res) => {
    const { state, queue, limit } = inputOf(res).query;
    res.json({ jobs: await jobs.list({ state: state as JobListState, limit: Number(limit), ...(typeof queue === 'string' ? { queue } : {}) }) });
  });
  router.post('/jobs/:id/retry', validate('retryJob'), async (_req, res) => {
    res.json({ job: await jobs.retry(String(inputOf(res).path.id)) });
  });
  return router;
}
