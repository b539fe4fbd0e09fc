/**
 * The JSON text a value was parsed from, kept beside it so that whoever stores or sends the value
 * again need not serialise it again. Only for values nobody changes after parsing: a connector's
 * answer (checked against its schema, stored by the stale cache), an event as Kafka hands it
 * over (appended to the SSE event log) and an event the outbox relay reads back (sent to Kafka).
 */
const texts = new WeakMap<object, string>();

/** Parses `text`, remembering it for the value when the value is an object or array. */
export function parseKeepingText(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (typeof value === 'object' && value !== null) texts.set(value, text);
  return value;
}

/** The JSON text of `value`: the text it was parsed from if known, else `JSON.stringify(value)`. */
export function jsonTextOf(value: unknown): string {
  return (typeof value === 'object' && value !== null ? texts.get(value) : undefined) ?? JSON.stringify(value);
}
