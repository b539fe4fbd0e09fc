import type { Condition, FactValue, Facts, RoutingRules, RuleEffect, RuleOutcome, RuleResult } from './routing.types.ts';

/** What a point of priority is worth in waiting when the rules do not say (`ageing.msPerPoint`). */
export const DEFAULT_MS_PER_POINT = 1_000;

/** Kleene's three values: a condition on a fact nobody knows is neither true nor false. */
export type Truth = true | false | 'unknown';

/** Where a conversation goes before any rule speaks: what the widget asked for. */
export interface EvaluateOptions {
  /** The group the widget (or a transfer) named; rules that name a group override it. */
  readonly group?: string;
}

/**
 * Runs the rules, in order, on the facts. Pure.
 *
 * - A rule fires when its condition is true; `not_matched` when false; `unknown` when it depends
 *   on a fact nobody knows (a source down, a connector that does not provide it, no customer): it
 *   does not fire, and the outcome says which facts it read (`null` for the unknown ones).
 * - Priorities add up; skills accumulate (no duplicates, in the order first named); the last
 *   rule that sets a language wins.
 * - The group: the last rule that fired with a group, else the group the widget named
 *   (`options.group`, else the fact `widget.group`), else `defaultGroup`.
 */
export function evaluateRules(rules: RoutingRules, facts: Facts, options: EvaluateOptions = {}): RuleResult {
  let priority = 0;
  let ruleGroup: string | undefined;
  let language: string | undefined;
  const skills: string[] = [];
  const outcomes: RuleOutcome[] = [];

  for (const rule of rules.rules) {
    const read: Record<string, FactValue> = {};
    const truth = evaluate(rule.when, facts, read);
    if (truth !== true) {
      outcomes.push({ rule: rule.name, outcome: truth === false ? 'not_matched' : 'unknown', read });
      continue;
    }
    const effect: RuleEffect = rule.then;
    priority += effect.priority ?? 0;
    if (effect.group !== undefined) ruleGroup = effect.group;
    if (effect.language !== undefined) language = effect.language;
    for (const skill of effect.skills ?? []) if (!skills.includes(skill)) skills.push(skill);
    outcomes.push({ rule: rule.name, outcome: 'fired', read, effect });
  }

  const widgetGroup = options.group ?? (typeof facts['widget.group'] === 'string' ? facts['widget.group'] : undefined);
  return {
    group: ruleGroup ?? widgetGroup ?? rules.defaultGroup,
    priority,
    skills,
    ...(language === undefined ? {} : { language }),
    outcomes,
  };
}

/**
 * A queued conversation's rank: lower is served first. `enqueuedAtMs − priority × msPerPoint`:
 * a point of priority is worth `msPerPoint` of waiting, and since a waiting conversation's rank
 * never changes while newer ones get larger ranks, every conversation is served in the end.
 */
export function rankOf(priority: number, enqueuedAtMs: number, rules: Pick<RoutingRules, 'ageing'>): number {
  return enqueuedAtMs - priority * (rules.ageing?.msPerPoint ?? DEFAULT_MS_PER_POINT);
}

/** Evaluates a condition, recording in `read` every fact it looked at. */
export function evaluate(condition: Condition, facts: Facts, read: Record<string, FactValue> = {}): Truth {
  if ('all' in condition) {
    // Every operand is looked at (no short cut), so the explanation lists every fact the rule reads.
    const values = condition.all.map((c) => evaluate(c, facts, read));
    if (values.includes(false)) return false;
    return values.includes('unknown') ? 'unknown' : true;
  }
  if ('any' in condition) {
    const values = condition.any.map((c) => evaluate(c, facts, read));
    if (values.includes(true)) return true;
    return values.includes('unknown') ? 'unknown' : false;
  }
  if ('not' in condition) {
    const value = evaluate(condition.not, facts, read);
    return value === 'unknown' ? 'unknown' : !value;
  }
  const value = facts[condition.fact] ?? null;
  read[condition.fact] = value;
  return compare(condition, value);
}

type Comparison = Extract<Condition, { readonly fact: string }>;

/** Every operator of the comparison must hold; `known` is the only one that is never unknown. */
function compare(c: Comparison, value: FactValue): Truth {
  const results: Truth[] = [];
  if (c.known !== undefined) results.push((value !== null) === c.known);
  const on = (test: (v: Exclude<FactValue, null>) => boolean) => results.push(value === null ? 'unknown' : test(value));
  if (c.eq !== undefined) on((v) => v === c.eq);
  if (c.ne !== undefined) on((v) => v !== c.ne);
  if (c.in !== undefined) on((v) => (typeof v === 'string' || typeof v === 'number') && c.in!.includes(v));
  // An ordering on a fact that is not a number is false (a bad rule), not unknown: the fact is known.
  if (c.gt !== undefined) on((v) => typeof v === 'number' && v > c.gt!);
  if (c.gte !== undefined) on((v) => typeof v === 'number' && v >= c.gte!);
  if (c.lt !== undefined) on((v) => typeof v === 'number' && v < c.lt!);
  if (c.lte !== undefined) on((v) => typeof v === 'number' && v <= c.lte!);
  if (c.contains !== undefined) on((v) => Array.isArray(v) && v.includes(c.contains!));
  if (results.includes(false)) return false;
  return results.includes('unknown') ? 'unknown' : true;
}
