import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAjv, pointerToField, toIssues } from '../../kernel/schemas.ts';
import type { RoutingRules } from './routing.types.ts';

/** One problem of a rules document, where it is (JSON pointer) and what is wrong. */
export interface RulesIssue {
  readonly pointer: string;
  readonly message: string;
}

/** Checks a rules document: every problem at once, none when it is valid. */
export type RoutingRulesValidator = (doc: unknown) => RulesIssue[];

/** Reads `schemas/routing-rules.schema.json` under the project's root. */
export function loadRoutingRulesSchema(rootDir: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(rootDir, 'schemas', 'routing-rules.schema.json'), 'utf8')) as Record<string, unknown>;
}

/**
 * The schema's checks, then what JSON Schema cannot say: each time zone is one the IANA database
 * (through Intl) knows, each opening range ends after it starts, and rule names are unique (a
 * decision names the rules it used). The second kind is checked only where the shape is right.
 */
export function createRoutingRulesValidator(schema: Record<string, unknown>): RoutingRulesValidator {
  const validate = createAjv().compile(schema);
  return (doc) => {
    if (!validate(doc)) return toIssues(validate.errors).map(({ pointer, message }) => ({ pointer, message }));
    return semanticIssues(doc as RoutingRules);
  };
}

/** Whether Intl knows this IANA time zone. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function semanticIssues(rules: RoutingRules): RulesIssue[] {
  const issues: RulesIssue[] = [];
  const issue = (pointer: string, text: string) => issues.push({ pointer, message: `${pointerToField(pointer)} ${text}` });
  const seen = new Set<string>();
  rules.rules.forEach((rule, i) => {
    if (seen.has(rule.name)) issue(`/rules/${i}/name`, `repeats the rule name "${rule.name}": names must be unique`);
    seen.add(rule.name);
  });
  for (const [group, policy] of Object.entries(rules.groups ?? {})) {
    const hours = policy.hours;
    if (hours === undefined) continue;
    const base = `/groups/${group}/hours`;
    if (!isTimeZone(hours.timeZone)) issue(`${base}/timeZone`, `is not an IANA time zone: ${hours.timeZone}`);
    for (const [day, ranges] of Object.entries(hours.weekly)) {
      (ranges ?? []).forEach(([from, to], j) => {
        if (to <= from) issue(`${base}/weekly/${day}/${j}`, `must end after it starts (${from}–${to})`);
      });
    }
  }
  return issues;
}
