/** What a secret is replaced by, in logs and in any connector-written text the gateway passes on. */
export const REDACTED = '[redacted]';

/** Shorter values are not scrubbed by value: they would blank out ordinary words. */
export const MIN_SECRET_LENGTH = 6;

/**
 * The secret values the operators gave the gateway (API and admin keys, connector config fields
 * marked `x-secret`), scrubbed from text wherever they sit in it, at any depth of any object, raw,
 * JSON-escaped, base64 (standard and URL-safe) or URL-encoded. Never a value a client chooses
 * (such as a webhook subscription's secret): it could blank any text in every node's logs.
 */
export interface Secrets {
  /** Remembers values (the same value twice is one). */
  add(...values: readonly unknown[]): void;
  /** `text` with every known secret, in every form, replaced by `[redacted]`. */
  scrub(text: string): string;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The forms a secret takes in a log line or a message. */
function formsOf(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  // Unpadded, so a secret base64-encoded at the start of a longer value is found too.
  return [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret), bytes.toString('base64').replace(/=+$/, ''), bytes.toString('base64url')];
}

/** An empty set of secrets; main.ts makes one, gives it to the logger and the gateway, which fill it. */
export function createSecrets(): Secrets {
  const known = new Set<string>();
  // One alternation, longest first, rebuilt only when a secret is added: scrubbing a line is one scan.
  let pattern: RegExp | undefined;
  return {
    add(...values) {
      let added = false;
      for (const value of values) {
        if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || known.has(value)) continue;
        known.add(value);
        added = true;
      }
      if (!added) return;
      const forms = [...new Set([...known].flatMap(formsOf))].sort((a, b) => b.length - a.length);
      pattern = new RegExp(forms.map(escapeRegExp).join('|'), 'g');
    },
    scrub(text) {
      return pattern === undefined ? text : text.replace(pattern, REDACTED);
    },
  };
}

/** The values of `config` at the fields its JSON Schema marks `"x-secret": true`, at any depth. */
export function secretValuesOf(schema: unknown, config: unknown): unknown[] {
  if (typeof schema !== 'object' || schema === null || typeof config !== 'object' || config === null) return [];
  const properties = (schema as { properties?: Record<string, unknown> }).properties ?? {};
  return Object.entries(properties).flatMap(([field, sub]) => {
    const value = (config as Record<string, unknown>)[field];
    return (sub as { 'x-secret'?: unknown })['x-secret'] === true ? [value] : secretValuesOf(sub, value);
  });
}
