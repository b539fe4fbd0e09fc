import { randomUUID } from 'node:crypto';
import type { CloudEvent } from '../ports/event-bus.ts';

/** The topic of the gateway's events (the bus's default). */
export const EVENTS_TOPIC = 'omnigate.events';
/** The topic of cluster-wide admin commands: every node sees them, in order. */
export const COMMANDS_TOPIC = 'omnigate.commands';

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
