import { createHash, randomUUID } from 'node:crypto';
import { AppError, toAppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import { conversationAttributes, inSpan, traceparentOfActive } from '../../kernel/telemetry.ts';
import { startTrace, traceOfSpan, type TraceContext } from '../../kernel/trace.ts';
import type { BlobStore } from '../../ports/blob-store.ts';
import type { LeaseStore } from '../../ports/lease-store.ts';
import type { RunningJob } from '../../ports/job-queue.ts';
import type { BotAccess } from '../chat/conversations.service.ts';
import type { ConversationEvent, ConversationState } from '../chat/conversation.types.ts';
import type { JobEnvelope, JobQueues } from '../jobs/job-queues.ts';
import type { QueryService } from '../query/query.service.ts';
import { createAttributedQueries } from './attributed-queries.ts';
import { commandsOf, failedReply, isVisitorMessage, visitorTexts, type MessageSent } from './bot-replies.ts';
import type { Bot, BotReply } from './bot.types.ts';

export const BOT_QUEUE = 'bot-replies';
/** How many events before a visitor's message a bot may look back over. */
export const BOT_LOOKBACK = 200;

interface BotJobData extends JobEnvelope {
  readonly conversationId: string;
  /** The visitor's message: its seq and id. */
  readonly seq: number;
  readonly messageId: string;
}

/** `bot_<conversationId>_<seq>` (the id hashed when it has characters a job id may not hold). */
export function botJobId(conversationId: string, seq: number): string {
  const conversation = /^[A-Za-z0-9-]{1,100}$/.test(conversationId) ? conversationId : createHash('sha256').update(conversationId).digest('hex').slice(0, 40);
  return `bot_${conversation}_${seq}`;
}

export interface BotRunnerDeps {
  readonly jobs: JobQueues;
  readonly bot: Bot;
  /** The conversations as the bot reads and writes them (given late: the service is built with the runner). */
  readonly conversations: () => BotAccess;
  /** The query service as wired (lineage recorder around it): the bot's calls go through it, attributed. */
  readonly query: QueryService;
  /** Per-conversation locks: one conversation's messages are answered one at a time, in order. */
  readonly leases: LeaseStore;
  /** Where each conversation's last answered seq is kept (Redis). */
  readonly progress: BlobStore;
  readonly log: Logger;
  /** A job holds its conversation this long, renewed while it runs. */
  readonly lockMs: number;
  readonly attempts: number;
  readonly backoffMs: number;
  /** How long a conversation's progress is kept after its last answer (at least as long as it may be in state `bot`). */
  readonly keepMs: number;
  /** The trace context of the code that stored the message, carried into the job (default: the active span's). */
  readonly traceparent?: () => string | undefined;
}

/** The configured bot as the conversations service drives it (ConversationsDeps.bot). */
export interface BotRunner {
  readonly name: string;
  /** Queues the answer to a visitor's public message (durably: resolves once the job is stored). */
  answer(conversationId: string, message: MessageSent): Promise<void>;
}

/**
 * The bot runs as a durable job per visitor message (BullMQ in the gateway): a message that was
 * acknowledged is answered even if the node that stored it dies. A job takes its conversation's
 * lock, then answers, in order, every visitor message up to its own that is not answered yet (a
 * job that overtook an earlier one answers that one first; the earlier job then finds it done),
 * recording the last answered seq after each. Appends are idempotent by `bot-<messageId>-<i>`,
 * so an answer repeated by another attempt or node appears once. A conversation that left `bot`
 * meanwhile is not answered. A bot that fails for good hands over (`bot_failed`).
 */
export function createBotRunner(deps: BotRunnerDeps): BotRunner {
  const { bot } = deps;
  const actor = { kind: 'bot', id: bot.name } as const;
  const lockKey = (conversationId: string) => `omnigate:bot:{${conversationId}}:lock`;
  const progressKey = (conversationId: string) => `omnigate:bot:{${conversationId}}:answered`;

  const queue = deps.jobs.define<BotJobData>({
    queue: BOT_QUEUE,
    type: 'bot.reply',
    idPrefix: 'bot',
    attempts: deps.attempts,
    backoffMs: deps.backoffMs,
    // The job queues continue the message's trace (its traceparent) as the span `job bot.reply`;
    // the reply is that span's child, so the chain reads message < job < reply < queries.
    process: (job, log) => inSpan('bot.reply', { attributes: conversationAttributes({ conversationId: job.data.conversationId, messageSeq: job.data.seq }) }, (span) =>
      answerWithLock(job, log, traceOfSpan(span, `job-${job.id}`) ?? startTrace(job.data.traceparent, `job-${job.id}`))),
    // Its workers died answering this message, twice: answering it again may kill another. The
    // visitor is not left waiting on a bot that will never answer: a person takes over.
    stalledOut: (job, log) => handOverStalled(job, log.child({ conversationId: job.data.conversationId })),
  });

  async function handOverStalled(job: RunningJob<BotJobData>, log: Logger): Promise<void> {
    const { conversationId, seq } = job.data;
    const conversations = deps.conversations();
    const state = await conversations.load(conversationId);
    const [message] = (await conversations.read(conversationId, { afterSeq: seq - 1, untilSeq: seq })).filter(isVisitorMessage);
    if (state.status !== 'bot' || !message) {
      log.info({ seq, status: state.status }, 'a stalled bot job: its conversation left the bot meanwhile, nothing to hand over');
      return;
    }
    log.warn({ seq, bot: bot.name, stalls: job.stalls }, 'the bot\'s job for a message stalled out: handing over');
    await act(conversationId, failedReply(state, `its job for message ${seq} stopped ${job.stalls} times without an answer`), message, state, log);
  }

  async function answerWithLock(job: RunningJob<BotJobData>, log: Logger, trace: TraceContext): Promise<{ answered: number[] }> {
    const { conversationId, seq } = job.data;
    const jobLog = log.child({ traceId: trace.traceId, conversationId });
    const holder = randomUUID();
    if (!(await deps.leases.acquire(lockKey(conversationId), holder, deps.lockMs))) {
      throw new AppError('CONVERSATION_BUSY', `conversation ${conversationId} is being answered by another job: message ${seq} waits its turn`);
    }
    const renew = setInterval(() => void deps.leases.acquire(lockKey(conversationId), holder, deps.lockMs).catch((err: unknown) => jobLog.warn({ err }, 'bot lock not renewed')), Math.max(50, Math.floor(deps.lockMs / 3)));
    renew.unref();
    try {
      return await answerUpTo(job, trace, jobLog);
    } finally {
      clearInterval(renew);
      await deps.leases.release(lockKey(conversationId), holder).catch(() => undefined);
    }
  }

  async function answerUpTo(job: RunningJob<BotJobData>, trace: TraceContext, log: Logger): Promise<{ answered: number[] }> {
    const { conversationId, seq } = job.data;
    const conversations = deps.conversations();
    const stored = await deps.progress.get(progressKey(conversationId));
    const answeredUpTo = stored === undefined ? 0 : Number(stored.toString('utf8'));
    if (answeredUpTo >= seq) return { answered: [] };
    const waiting = (await conversations.read(conversationId, { afterSeq: answeredUpTo, untilSeq: seq })).filter(isVisitorMessage);
    const answered: number[] = [];
    for (const message of waiting) {
      const state = await conversations.load(conversationId);
      if (state.status !== 'bot') {
        log.info({ seq: message.seq, status: state.status }, 'the conversation left the bot: message not answered');
        break;
      }
      await answerOne(job, conversationId, state, message, trace, log);
      await deps.progress.put(progressKey(conversationId), Buffer.from(String(message.seq)), deps.keepMs);
      answered.push(message.seq);
    }
    return { answered };
  }

  async function answerOne(job: RunningJob<BotJobData>, conversationId: string, state: ConversationState, message: MessageSent, trace: TraceContext, log: Logger): Promise<void> {
    const conversations = deps.conversations();
    const earlierEvents = () => conversations.read(conversationId, { afterSeq: Math.max(0, message.seq - 1 - BOT_LOOKBACK), untilSeq: message.seq - 1 });
    const queries = createAttributedQueries({ query: deps.query, attribution: { conversationId, messageSeq: message.seq, actor, purpose: 'bot' }, trace, log });
    let reply: BotReply;
    try {
      reply = await bot.reply({
        conversationId, state, message, queries, traceId: trace.traceId,
        earlier: async () => (await earlierEvents()).filter((e): e is ConversationEvent => e.type === 'conversation.message_sent' && e.visibility === 'public'),
      });
    } catch (err) {
      const error = toAppError(err);
      // A store away, a conversation busy: another attempt may do better; the last one hands over.
      if (error.retryable && job.attemptsMade + 1 < job.maxAttempts) throw err;
      log.warn({ err, seq: message.seq, bot: bot.name }, 'the bot failed: handing over');
      reply = failedReply(state, error.code);
    }
    if (await act(conversationId, reply, message, state, log)) log.info({ seq: message.seq, reply: reply.kind, bot: bot.name }, 'bot answered');
  }

  /** Appends a reply's messages and handover, idempotently; false when the conversation moved on first. */
  async function act(conversationId: string, reply: BotReply, message: MessageSent, state: ConversationState, log: Logger): Promise<boolean> {
    const conversations = deps.conversations();
    const earlierEvents = () => conversations.read(conversationId, { afterSeq: Math.max(0, message.seq - 1 - BOT_LOOKBACK), untilSeq: message.seq - 1 });
    const said = reply.kind === 'handover' ? [...visitorTexts(await earlierEvents()), ...visitorTexts([message])] : [];
    for (const { command, clientId } of commandsOf(reply, message, state, said, randomUUID)) {
      try {
        await conversations.act(conversationId, command, clientId);
      } catch (err) {
        // Handed over or closed meanwhile (by the visitor, a timer): the rest of the answer is moot.
        if (toAppError(err).code !== 'INVALID_TRANSITION') throw err;
        log.info({ seq: message.seq, command: command.type }, 'the conversation moved on: the rest of the bot\'s answer is dropped');
        return false;
      }
    }
    return true;
  }

  return {
    name: bot.name,
    async answer(conversationId, message) {
      const traceparent = (deps.traceparent ?? traceparentOfActive)();
      await queue.add(botJobId(conversationId, message.seq), { owner: 'system', conversationId, seq: message.seq, messageId: message.data.messageId, ...(traceparent === undefined ? {} : { traceparent }) });
    },
  };
}
