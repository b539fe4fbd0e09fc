import type { Registry } from 'prom-client';
import type { Config } from '../../config/config.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { DispatchStore } from '../../ports/dispatch-store.ts';
import { registerQueueMetrics } from './queue-metrics.ts';
import { createQueueStreams, type QueueStreams } from './queue-streams.ts';

/** What supervisors see of the queues: the store's numbers, this node's SSE streams of them, and the /metrics series. */
export interface Queues {
  readonly store: Pick<DispatchStore, 'stats'>;
  readonly streams: QueueStreams;
  readonly now: () => number;
  /** Ends the streams (`event: shutdown`). */
  close(): Promise<void>;
}

export interface QueuesDeps {
  readonly store: Pick<DispatchStore, 'stats'>;
  readonly registry: Registry;
  readonly log: Logger;
  readonly config: Pick<Config, 'queuesStreamIntervalMs' | 'queuesMetricsTimeoutMs' | 'sseHeartbeatMs' | 'sseMaxPerKey' | 'sseMaxBufferBytes'>;
  readonly now?: () => number;
}

/** The queues' visible state on one node: registers the dispatch metrics and makes the streams GET /v1/queues/stream serves. */
export function createQueues({ store, registry, log, config, now = Date.now }: QueuesDeps): Queues {
  registerQueueMetrics({ registry, store, log, now, timeoutMs: config.queuesMetricsTimeoutMs });
  const streams = createQueueStreams({
    store, log, now, intervalMs: config.queuesStreamIntervalMs, heartbeatMs: config.sseHeartbeatMs, maxPerKey: config.sseMaxPerKey, maxBufferBytes: config.sseMaxBufferBytes,
  });
  return { store, streams, now, close: () => streams.close() };
}
