import { Router } from 'express';
import { AppError } from '../../kernel/errors.ts';
import { inputOf, type createRequestValidator } from '../http/openapi-validator.ts';
import { contextOf } from '../http/request-context.ts';
import type { AgentDirectory, AgentProfile } from './agent-directory.ts';

export interface AgentsRoutesDeps {
  readonly directory: AgentDirectory;
  readonly validate: ReturnType<typeof createRequestValidator>;
  /** An agent's profile was written or removed (dispatch re-reads it). */
  readonly onChange?: (agentId: string) => void;
}

/** /v1/admin/agents: the agent directory (admin key). */
export function createAgentsAdminRouter({ directory, validate, onChange }: AgentsRoutesDeps): Router {
  const router = Router();
  const id = (res: Parameters<typeof inputOf>[0]): string => String(inputOf(res).path.id);

  router.get('/agents', validate('listAgents'), async (_req, res) => {
    res.json({ agents: await directory.list() });
  });
  router.get('/agents/:id', validate('getAgent'), async (_req, res) => {
    const agent = await directory.get(id(res));
    if (agent === undefined) throw new AppError('NOT_FOUND', `no agent ${id(res)} in the directory`);
    res.json(agent);
  });
  router.put('/agents/:id', validate('putAgent'), async (_req, res) => {
    const profile: AgentProfile = { ...(inputOf(res).body as Omit<AgentProfile, 'id'>), id: id(res) };
    const created = await directory.upsert(profile);
    contextOf(res).log.info({ agentId: profile.id, created }, 'agent directory changed');
    onChange?.(profile.id);
    res.status(created ? 201 : 200).json(await directory.get(profile.id));
  });
  router.delete('/agents/:id', validate('deleteAgent'), async (_req, res) => {
    if (!(await directory.remove(id(res)))) throw new AppError('NOT_FOUND', `no agent ${id(res)} in the directory`);
    contextOf(res).log.info({ agentId: id(res) }, 'agent removed from the directory');
    onChange?.(id(res));
    res.status(204).end();
  });
  return router;
}
