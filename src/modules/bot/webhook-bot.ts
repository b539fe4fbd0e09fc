import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { Logger } from '../../kernel/logger.ts';
import type { ConversationEvent, ConversationState } from '../chat/conversation.types.ts';
import { signWebhook } from '../webhooks/signature.ts';
import { failedReply } from './bot-replies.ts';
import type { Bot, BotInput, BotReply } from './bot.types.ts';

/** The schema (schemas/) an external bot service's answer must match. */
export const BOT_REPLY_SCHEMA_ID = 'https://omnigate.dev/schemas/bot-reply.schema.json';
/** An answer bigger than this is not read: the bot failed. */
const MAX_ANSWER_BYTES = 256 * 1024;

export interface WebhookBotDeps {
  /** `OMNIGATE_BOT_WEBHOOK_URL`: where each visitor message is POSTed. */
  readonly url: string;
  /** `OMNIGATE_BOT_WEBHOOK_SECRET`: signs the requests (Standard Webhooks, as the gateway's outbound webhooks). Never logged. */
  readonly secret: string;
  /** `OMNIGATE_BOT_WEBHOOK_TIMEOUT_MS`: a service slower than this has failed (the visitor is handed over). */
  readonly timeoutMs: number;
  /** Checks an answer against schemas/bot-reply.schema.json. */
  readonly validate: ValidateFunction;
  readonly log: Logger;
  readonly now?: () => number;
}

/** A message as the external bot service reads it. */
const messageOf = (e: Extract<ConversationEvent, { type: 'conversation.message_sent' }>) => {
  const { messageId, author, visibility: _v, clientId: _c, ...content } = e.data;
  return { seq: e.seq, at: e.at, messageId, author, ...content };
};

/** What the service learns of the conversation: enough to answer, nothing of routing. */
const conversationOf = (conversationId: string, s: ConversationState) => ({
  id: conversationId, status: s.status, seq: s.seq,
  ...(s.visitor === undefined ? {} : { visitor: s.visitor }),
  ...(s.language === undefined ? {} : { language: s.language }),
  ...(s.subject === undefined ? {} : { subject: s.subject }),
  ...(s.topic === undefined ? {} : { topic: s.topic }),
  ...(s.page === undefined ? {} : { page: s.page }),
  ...(s.createdAt === undefined ? {} : { createdAt: s.createdAt }),
});

/**
 * The webhook bot (`OMNIGATE_CHAT_BOT=webhook`): each visitor message is POSTed to an external bot
 * service as JSON (the conversation, the message, its earlier public messages), signed like the
 * gateway's outbound webhooks (`webhook-id` `bot-<messageId>`, `webhook-timestamp`,
 * `webhook-signature`: HMAC-SHA256 over `<id>.<timestamp>.<body>`). The service answers a
 * BotReply (schemas/bot-reply.schema.json). A timeout, an error, a non-2xx answer or an answer
 * that is not a BotReply hands the visitor over to a person (`bot_failed`), saying so.
 */
export function createWebhookBot(deps: WebhookBotDeps): Bot {
  const log = deps.log.child({ module: 'webhook-bot' });
  const now = deps.now ?? Date.now;

  async function ask(input: BotInput): Promise<BotReply | { failed: string }> {
    const earlier = (await input.earlier()).flatMap((e) => (e.type === 'conversation.message_sent' ? [messageOf(e)] : []));
    const id = `bot-${input.message.data.messageId}`;
    const body = JSON.stringify({ id, type: 'bot.message', traceId: input.traceId, conversation: conversationOf(input.conversationId, input.state), message: messageOf(input.message), earlier });
    const timestamp = Math.floor(now() / 1000);
    let response: Response;
    try {
      response = await fetch(deps.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'omnigate-bot/1', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(deps.secret, id, timestamp, body) },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(deps.timeoutMs),
      });
    } catch (err) {
      const name = (err as { name?: string }).name;
      return { failed: name === 'TimeoutError' || name === 'AbortError' ? `the bot service did not answer within ${deps.timeoutMs} ms` : `the bot service could not be reached: ${(err as Error).message}` };
    }
    const text = await readAtMost(response, MAX_ANSWER_BYTES).catch((err: unknown) => ({ failed: `the bot service's answer could not be read: ${(err as Error).message}` }));
    if (typeof text !== 'string') return text;
    if (response.status < 200 || response.status >= 300) return { failed: `the bot service answered ${response.status}` };
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      return { failed: 'the bot service\'s answer is not JSON' };
    }
    if (!deps.validate(answer)) {
      const first = deps.validate.errors?.[0];
      return { failed: `the bot service's answer is not a BotReply: ${first ? `${first.instancePath || '/'} ${first.message ?? ''}`.trim() : 'invalid'}` };
    }
    return answer as BotReply;
  }

  return {
    name: 'webhook',
    async reply(input) {
      const answer = await ask(input);
      if (!('failed' in answer)) return answer;
      log.warn({ conversationId: input.conversationId, seq: input.message.seq, url: deps.url, reason: answer.failed }, 'the bot service failed: handing over');
      return failedReply(input.state, answer.failed);
    },
  };
}

/** The body as text, or a failure once it passes `max` bytes (the rest is not read). */
async function readAtMost(response: Response, max: number): Promise<string> {
  if (!response.body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Uint8Array).byteLength;
    if (size > max) throw new Error(`more than ${max} bytes`);
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks).toString('utf8');
}
