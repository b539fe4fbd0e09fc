import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** A loop's stalls: from a millisecond (a scavenge) to past the blocked-worker limit (2 s). */
const STALL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Breaker states as numbers, for the `omnigate_breaker_state` gauge. */
export const BREAKER_STATE_VALUE = { closed: 0, halfOpen: 1, open: 2 } as const;

/** Every metric the gateway exports, on its own registry (one per gateway, so tests can run several). */
export function createMetrics() {
  // Gauges that every process of a host reads alike (or whose worst value matters) aggregate by max
  // or min on /metrics for the host (prom-client's AggregatorRegistry); the rest sum.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'omnigate_' });
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({ name: 'omnigate_http_requests_total', help: 'HTTP requests answered, by route and status', labelNames: ['method', 'route', 'status'], registers }),
    httpDuration: new Histogram({ name: 'omnigate_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['method', 'route', 'status'], buckets: LATENCY_BUCKETS, registers }),
    connectorCalls: new Counter({ name: 'omnigate_connector_calls_total', help: 'Connector calls by outcome (ok, abandoned when the caller left, or the error code)', labelNames: ['connector', 'capability', 'outcome'], registers }),
    connectorDuration: new Histogram({ name: 'omnigate_connector_call_duration_seconds', help: 'Connector call latency, retries included', labelNames: ['connector', 'capability', 'outcome'], buckets: LATENCY_BUCKETS, registers }),
    breakerState: new Gauge({ name: 'omnigate_breaker_state', help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open', labelNames: ['connector', 'capability'], aggregator: 'max', registers }),
    breakerClusterState: new Gauge({ name: 'omnigate_breaker_cluster_state', help: 'The cluster\'s shared breaker as this node last read it: 0 closed, 1 trial due, 2 open', labelNames: ['connector', 'capability'], aggregator: 'max', registers }),
    breakerSharedUp: new Gauge({ name: 'omnigate_breaker_shared_up', help: 'Whether this node reaches the shared breaker state (0: its breakers decide alone)', aggregator: 'min', registers }),
    breakerTransitions: new Counter({ name: 'omnigate_breaker_transitions_total', help: 'Circuit breaker state changes', labelNames: ['connector', 'capability', 'to'], registers }),
    workerLoopDelay: new Histogram({ name: 'omnigate_connector_worker_event_loop_delay_seconds', help: 'The longest event loop delay of a connector\'s worker in each heartbeat interval (500 ms by default): blocking code or GC pauses there hold its calls', labelNames: ['connector'], buckets: STALL_BUCKETS, registers }),
    workerLoopUtilization: new Gauge({ name: 'omnigate_connector_worker_event_loop_utilization', help: 'The share of the last heartbeat interval a connector\'s worker loop was busy (1: saturated; the busiest process of the host)', labelNames: ['connector'], aggregator: 'max', registers }),
    workerGc: new Counter({ name: 'omnigate_connector_worker_gc_seconds_total', help: 'Time connector workers spent in garbage collection', labelNames: ['connector'], registers }),
    bulkheadInUse: new Gauge({ name: 'omnigate_bulkhead_in_use', help: 'Calls in flight per connector', labelNames: ['connector'], registers }),
    bulkheadQueued: new Gauge({ name: 'omnigate_bulkhead_queued', help: 'Calls waiting for a bulkhead slot', labelNames: ['connector'], registers }),
    bulkheadRejected: new Counter({ name: 'omnigate_bulkhead_rejected_total', help: 'Calls refused by a full bulkhead', labelNames: ['connector'], registers }),
    retries: new Counter({ name: 'omnigate_retries_total', help: 'Retries of idempotent reads', labelNames: ['connector', 'capability'], registers }),
    retryBudgetExhausted: new Counter({ name: 'omnigate_retry_budget_exhausted_total', help: 'Retries refused by the retry budget', labelNames: ['connector'], registers }),
    cacheHits: new Counter({ name: 'omnigate_cache_lookups_total', help: 'Stale-cache lookups after a failure, by result (hit or miss; Redis away counts as miss)', labelNames: ['connector', 'capability', 'result'], registers }),
    staleServes: new Counter({ name: 'omnigate_stale_serves_total', help: 'Answers served from the stale cache', labelNames: ['connector', 'capability'], registers }),
    eventsProduced: new Counter({ name: 'omnigate_events_produced_total', help: 'Events handed to the event bus by the outbox', registers }),
    eventsDropped: new Counter({ name: 'omnigate_events_dropped_total', help: 'Events dropped because the outbox buffer was full while Redis was away', registers }),
    eventsConsumed: new Counter({ name: 'omnigate_events_consumed_total', help: 'Events handled by a consumer group of this node, by type', labelNames: ['group', 'type'], registers }),
    eventsDuplicate: new Counter({ name: 'omnigate_events_duplicate_total', help: 'Events dropped as already seen (at-least-once delivery)', labelNames: ['group'], registers }),
    outboxDepth: new Gauge({ name: 'omnigate_outbox_depth', help: 'Events waiting in the outbox: every bucket, plus this node\'s memory buffer', aggregator: 'max', registers }),
    consumerLag: new Gauge({ name: 'omnigate_consumer_lag', help: 'Messages behind the end of the topic, per consumer group', labelNames: ['group', 'topic'], aggregator: 'max', registers }),
    queueDepth: new Gauge({ name: 'omnigate_queue_jobs', help: 'Jobs per queue and state', labelNames: ['queue', 'state'], aggregator: 'max', registers }),
    sseStreams: new Gauge({ name: 'omnigate_sse_streams', help: 'Event streams (SSE) open on this node', registers }),
    sseDropped: new Counter({ name: 'omnigate_sse_dropped_total', help: 'Event streams cut because their client read nothing for a heartbeat interval while paused', registers }),
    wsSockets: new Gauge({ name: 'omnigate_ws_sockets', help: 'Chat sockets open on this node, by principal kind', labelNames: ['kind'], registers }),
    wsClosed: new Counter({ name: 'omnigate_ws_closed_total', help: 'Chat sockets this node closed, by the catalogue code it closed them with', labelNames: ['code'], registers }),
    rateLimited: new Counter({ name: 'omnigate_rate_limited_total', help: 'Requests refused by a rate limit', labelNames: ['scope'], registers }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
