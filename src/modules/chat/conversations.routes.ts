import { Router, type Request, type Response } from 'express';
import type { Principal } from '../../kernel/principal.ts';
import { inputOf, type createRequestValidator } from '../http/openapi-validator.ts';
import { principalOf } from '../http/request-context.ts';
import type { ConversationCommand, ConversationStatus, MessageContent, TransferTarget, Visibility, VisitorRef } from './conversation.types.ts';
import type { Conversations } from './conversations.service.ts';

export interface ConversationsRoutesDeps {
  readonly conversations: Conversations;
  readonly validate: ReturnType<typeof createRequestValidator>;
}

type Body = Record<string, unknown>;

/** The state commands of POST /v1/conversations/{id}/{command}, each from its (optional) body. */
const COMMANDS: Readonly<Record<string, (body: Body) => ConversationCommand>> = {
  accept: (b) => ({ type: 'accept', ...(typeof b.agentId === 'string' ? { agentId: b.agentId } : {}), ...(typeof b.offerId === 'string' ? { offerId: b.offerId } : {}) }),
  decline: (b) => ({ type: 'decline', offerId: String(b.offerId) }),
  transfer: (b) => ({ type: 'transfer', to: b.to as TransferTarget, ...(typeof b.reason === 'string' ? { reason: b.reason } : {}) }),
  handover: (b) => ({ type: 'handover', ...(typeof b.reason === 'string' ? { reason: b.reason } : {}) }),
  snooze: (b) => ({ type: 'snooze', ...(typeof b.untilMs === 'number' ? { untilMs: b.untilMs } : {}) }),
  wake: () => ({ type: 'wake' }),
  close: () => ({ type: 'close' }),
  abandon: () => ({ type: 'abandon' }),
  reopen: () => ({ type: 'reopen' }),
  read: (b) => ({ type: 'read', upToSeq: b.upToSeq as number }),
};

/** The client id of a write: the body's `clientId`, else the `Idempotency-Key` header. */
const clientIdOf = (req: Request, body: Body): string | undefined => (typeof body.clientId === 'string' ? body.clientId : req.get('idempotency-key'));

const contentOf = (body: Body): MessageContent =>
  body.contentType === 'card' ? { contentType: 'card', card: body.card as Extract<MessageContent, { contentType: 'card' }>['card'] } : { contentType: 'text', text: String(body.text) };

/** /v1/conversations: the chat over REST, for services, agents and visitors (each sees what it may; the transition table says who may do what). */
export function createConversationsRouter({ conversations, validate }: ConversationsRoutesDeps): Router {
  const router = Router();
  const id = (res: Response) => String(inputOf(res).path.conversationId);
  const bodyOf = (res: Response): Body => (inputOf(res).body as Body | undefined) ?? {};
  const result = async (p: Principal, conversationId: string, outcome: { seq: number; duplicate: boolean }) => ({ ...outcome, conversation: await conversations.get(p, conversationId) });

  router.post('/conversations', validate('startConversation'), async (req, res) => {
    const p = principalOf(res);
    const body = bodyOf(res);
    const input = {
      ...(body.visitor === undefined ? {} : { visitor: body.visitor as VisitorRef }),
      ...(typeof body.group === 'string' ? { group: body.group } : {}),
      ...(typeof body.language === 'string' ? { language: body.language } : {}),
      ...(typeof body.subject === 'string' ? { subject: body.subject } : {}),
      ...(typeof body.topic === 'string' ? { topic: body.topic } : {}),
      ...(typeof body.page === 'string' ? { page: body.page } : {}),
      ...(body.message === undefined ? {} : { content: body.message as MessageContent }),
    };
    const started = await conversations.start(p, input, clientIdOf(req, body), { ip: req.ip ?? req.socket.remoteAddress ?? 'unknown' });
    res.status(started.duplicate ? 200 : 201).location(`/v1/conversations/${started.conversationId}`).json({ ...started, conversation: await conversations.get(p, started.conversationId) });
  });

  router.get('/conversations', validate('listConversations'), async (_req, res) => {
    const q = inputOf(res).query;
    const str = (name: string) => (typeof q[name] === 'string' ? { [name]: q[name] as string } : {});
    const filter = { ...(typeof q.state === 'string' ? { state: q.state as ConversationStatus } : {}), ...str('agentId'), ...str('group'), ...str('customerId') };
    res.json(await conversations.list(principalOf(res), filter, { limit: q.limit as number, ...(typeof q.cursor === 'string' ? { cursor: q.cursor } : {}) }));
  });

  router.get('/conversations/:conversationId', validate('getConversation'), async (_req, res) => {
    res.json(await conversations.get(principalOf(res), id(res)));
  });

  router.get('/conversations/:conversationId/messages', validate('listConversationMessages'), async (_req, res) => {
    const q = inputOf(res).query;
    const page = await conversations.history(principalOf(res), id(res), { afterSeq: q.afterSeq as number, limit: q.limit as number });
    res.json({ messages: page.events.filter((e) => e.type === 'conversation.message_sent'), lastSeq: page.lastSeq, hasMore: page.hasMore });
  });

  router.post('/conversations/:conversationId/messages', validate('sendConversationMessage'), async (req, res) => {
    const p = principalOf(res);
    const body = bodyOf(res);
    const clientId = clientIdOf(req, body) ?? crypto.randomUUID();
    const sent = await conversations.send(p, id(res), { clientId, content: contentOf(body), ...(body.visibility === undefined ? {} : { visibility: body.visibility as Visibility }) });
    res.status(sent.duplicate ? 200 : 201).json(await result(p, id(res), sent));
  });

  router.get('/conversations/:conversationId/events', validate('listConversationEvents'), async (_req, res) => {
    const p = principalOf(res);
    const q = inputOf(res).query;
    const untilSeq = typeof q.untilSeq === 'number' ? q.untilSeq : undefined;
    const page = await conversations.history(p, id(res), { afterSeq: q.afterSeq as number, limit: q.limit as number, ...(untilSeq === undefined ? {} : { untilSeq }) });
    res.json({ ...page, ...(untilSeq === undefined ? {} : { state: await conversations.stateAt(p, id(res), untilSeq) }) });
  });

  router.post('/conversations/:conversationId/leave-message', validate('leaveConversationMessage'), async (req, res) => {
    const p = principalOf(res);
    const body = bodyOf(res);
    const command = { type: 'leave_message', text: String(body.text), ...(typeof body.email === 'string' ? { email: body.email } : {}) } as const;
    res.json(await result(p, id(res), await conversations.command(p, id(res), command, clientIdOf(req, body))));
  });

  for (const [name, commandOf] of Object.entries(COMMANDS)) {
    router.post(`/conversations/:conversationId/${name}`, validate(`${name}Conversation`), async (req, res) => {
      const p = principalOf(res);
      const body = bodyOf(res);
      const done = await conversations.command(p, id(res), commandOf(body), req.get('idempotency-key'));
      res.json(await result(p, id(res), done));
    });
  }
  return router;
}
