import { createHash } from 'node:crypto';
import type { Logger } from '../../kernel/logger.ts';
import type { CloudEvent } from '../../ports/event-bus.ts';
import type { Events } from '../events/events.service.ts';
import type { JobEnvelope, JobQueues } from '../jobs/job-queues.ts';
import { deliverEvent } from './delivery.ts';
import type { Subscriptions } from './subscriptions.ts';
import { createUrlPolicy, type UrlCheck } from './url-policy.ts';

export const WEBHOOK_QUEUE = 'webhook-delivery';
/** The consumer group that turns events into deliveries: each event once per cluster. */
export const WEBHOOK_GROUP = 'omnigate-webhooks';

interface DeliveryData extends JobEnvelope {
  readonly subscriptionId: string;
  readonly event: CloudEvent;
}

export interface Webhooks {
  readonly subscriptions: Subscriptions;
  /** Why a URL may not receive webhooks, or undefined. */
  readonly checkUrl: UrlCheck;
}

export interface WebhooksDeps {
  readonly jobs: JobQueues;
  readonly events: Pick<Events, 'subscribeBatches'>;
  readonly subscriptions: Subscriptions;
  readonly log: Logger;
  readonly allowPrivate: boolean;
}

/** One delivery per subscription and event: an event handed over twice finds its job there already. */
const deliveryId = (subscriptionId: string, eventId: string) => `whd_${subscriptionId}_${createHash('sha256').update(eventId).digest('hex').slice(0, 32)}`;

/**
 * Outgoing webhooks: every event on the bus that a subscription asks for becomes one delivery
 * job (queue `webhook-delivery`), which POSTs it signed, retries with backoff and ends in the
 * dead letters when the receiver keeps failing.
 */
export async function createWebhooks(deps: WebhooksDeps): Promise<Webhooks> {
  const log = deps.log.child({ module: 'webhooks' });
  const policy = createUrlPolicy({ allowPrivate: deps.allowPrivate });
  const deliveries = deps.jobs.define<DeliveryData>({
    queue: WEBHOOK_QUEUE,
    type: 'webhook.delivery',
    idPrefix: 'whd',
    async process(job, jobLog) {
      const subscription = await deps.subscriptions.get(job.data.subscriptionId);
      if (!subscription) {
        jobLog.info({ subscriptionId: job.data.subscriptionId }, 'subscription deleted: delivery dropped');
        return { delivered: false, reason: 'the subscription was deleted' };
      }
      const { status } = await deliverEvent(subscription, job.data.event, { lookup: policy.lookup });
      return { delivered: true, status };
    },
    details: (job) => ({ webhook: { subscriptionId: job.data.subscriptionId, eventId: job.data.event.id, eventType: job.data.event.type } }),
  });

  // A batch at a time: the subscriptions of each type in it looked up once. A failure here (Redis
  // away) throws, and the bus hands the batch over again; a delivery's id is its subscription's and
  // event's, so one queued before the failure is not queued twice.
  const fanOut = async (events: readonly CloudEvent[]) => {
    const types = [...new Set(events.map((e) => e.type))];
    const byType = new Map(await Promise.all(types.map(async (type) => [type, await deps.subscriptions.matching(type)] as const)));
    for (const event of events) {
      const targets = byType.get(event.type) ?? [];
      await Promise.all(targets.map((s) => deliveries.add(deliveryId(s.id, event.id), { owner: s.owner, subscriptionId: s.id, event })));
      if (targets.length > 0) log.debug({ eventId: event.id, type: event.type, subscriptions: targets.length }, 'webhook deliveries queued');
    }
  };
  // Events.close() closes the subscription with the others.
  await deps.events.subscribeBatches(WEBHOOK_GROUP, fanOut);
  return { subscriptions: deps.subscriptions, checkUrl: policy.check };
}
