/**
 * The JSON text a value was parsed from, kept beside it so that whoever stores the value again
 * (the stale cache) need not serialise it again. Only for values nobody changes after parsing:
 * a connector's answer, which is checked against its schema and never modified.
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
