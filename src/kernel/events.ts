import { randomUUID } from 'node:crypto';
import type { CloudEvent } from '../ports/event-bus.ts';

/** The topic of the gateway's events (the bus's default). */
export const EVENTS_TOPIC = 'omnigate.events';
/** The topic of cluster-wide admin commands: every node sees them, in order. */
export const COMMANDS_TOPIC = 'omnigate.commands';
/**
 * The topic of conversation events (`conversation.*`, keyed by conversation id). Only the outbox
 * writes it and only the world outside reads it: the SSE event log and the outgoing webhooks
 * follow EVENTS_TOPIC alone, so no API key sees message text through them.
 */
export const CONVERSATIONS_TOPIC = 'omnigate.conversations';

/** Builds a CloudEvent with a fresh id and the current time. */
export function cloudEvent<T>(fields: { source: string; type: string; subject?: string; partitionkey: string; data: T; traceparent?: string; id?: string; time?: string }): CloudEvent<T> {
  return {
    specversion: '1.0',
    id: fields.id ?? randomUUID(),
    source: fields.source,
    type: fields.type,
    ...(fields.subject === undefined ? {} : { subject: fields.subject }),
    time: fields.time ?? new Date().toISOString(),
    datacontenttype: 'application/json',
    partitionkey: fields.partitionkey,
    ...(fields.traceparent === undefined ? {} : { traceparent: fields.traceparent }),
    data: fields.data,
  };
}

/**
 * The CloudEvent of one stored conversation event: its id and type, the conversation as subject
 * and partition key, and as data everything else it carries (`by`, `visibility`, `data`) with
 * the conversation id and seq. Built once here, so every store adapter queues the same JSON.
 */
export function conversationCloudEvent(conversationId: string, event: { readonly seq: number; readonly id: string; readonly type: string; readonly at: string }, nodeId: string): CloudEvent {
  const { seq, id, type, at, ...rest } = event;
  return cloudEvent({ id, source: `/omnigate/nodes/${nodeId}`, type, subject: conversationId, time: at, partitionkey: conversationId, data: { conversationId, seq, ...rest } });
}
