import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { evaluate, evaluateRules, rankOf } from './routing-rules.ts';
import { createRoutingRulesValidator, loadRoutingRulesSchema } from './routing-rules-validator.ts';
import type { Condition, Facts, RoutingRules } from './routing.types.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const validate = createRoutingRulesValidator(loadRoutingRulesSchema(ROOT));
const DEMO = JSON.parse(readFileSync(`${ROOT}config/routing-rules.demo.json`, 'utf8')) as RoutingRules;

const known: Facts = { 'customer.known': true, 'customer.tier': 'vip', 'orders.openValueMaxEur': 720, 'tickets.openUrgentCount': 1 };

test('the demo rules are valid: VIP +50, an open order over 500 EUR goes to orders +20, an open urgent ticket +30', () => {
  assert.deepEqual(validate(DEMO), []);
  const result = evaluateRules(DEMO, known);
  assert.equal(result.priority, 100);
  assert.equal(result.group, 'orders');
  assert.deepEqual(result.outcomes.map((o) => o.outcome), ['fired', 'fired', 'fired']);
  assert.deepEqual(result.outcomes[1]?.read, { 'orders.openValueMaxEur': 720 });
});

test('a CRM without tiers: customer.tier unknown makes the VIP rule unknown, not an error, and the decision says so', () => {
  const result = evaluateRules(DEMO, { ...known, 'customer.tier': null });
  const vip = result.outcomes.find((o) => o.rule === 'vip');
  assert.deepEqual(vip, { rule: 'vip', outcome: 'unknown', read: { 'customer.tier': null } });
  assert.equal(result.priority, 50, 'the other rules still fire on what is known');
  assert.equal(result.group, 'orders');
});

test('a fact absent from the facts is unknown, like null', () => {
  const result = evaluateRules(DEMO, {});
  assert.deepEqual(result.outcomes.map((o) => o.outcome), ['unknown', 'unknown', 'unknown']);
  assert.equal(result.priority, 0);
  assert.equal(result.group, 'general');
});

test('a known fact that does not match: not_matched, nothing added', () => {
  const result = evaluateRules(DEMO, { 'customer.tier': 'standard', 'orders.openValueMaxEur': 500, 'tickets.openUrgentCount': 0 });
  assert.deepEqual(result.outcomes.map((o) => o.outcome), ['not_matched', 'not_matched', 'not_matched']);
  assert.equal(result.priority, 0);
});

test('three-valued logic: all, any and not with an unknown operand', () => {
  const unknownC: Condition = { fact: 'customer.tier', eq: 'vip' };
  const t: Condition = { fact: 'x.yes', eq: true };
  const f: Condition = { fact: 'x.yes', eq: false };
  const facts: Facts = { 'x.yes': true };
  assert.equal(evaluate({ all: [t, unknownC] }, facts), 'unknown');
  assert.equal(evaluate({ all: [f, unknownC] }, facts), false);
  assert.equal(evaluate({ all: [t, t] }, facts), true);
  assert.equal(evaluate({ any: [t, unknownC] }, facts), true);
  assert.equal(evaluate({ any: [f, unknownC] }, facts), 'unknown');
  assert.equal(evaluate({ any: [f, f] }, facts), false);
  assert.equal(evaluate({ not: unknownC }, facts), 'unknown');
  assert.equal(evaluate({ not: t }, facts), false);
});

test('`known` is never unknown: it tests whether a fact is known', () => {
  assert.equal(evaluate({ fact: 'customer.tier', known: false }, {}), true);
  assert.equal(evaluate({ fact: 'customer.tier', known: true }, {}), false);
  assert.equal(evaluate({ fact: 'customer.tier', known: true }, { 'customer.tier': 'gold' }), true);
});

test('operators: ne, in, gte/lte ranges, contains; an ordering on a non-number is false', () => {
  const facts: Facts = { 'a.n': 5, 'a.s': 'de', 'a.list': ['billing', 'de'] };
  assert.equal(evaluate({ fact: 'a.s', ne: 'en' }, facts), true);
  assert.equal(evaluate({ fact: 'a.s', in: ['de', 'fr'] }, facts), true);
  assert.equal(evaluate({ fact: 'a.n', gte: 5, lte: 5 }, facts), true);
  assert.equal(evaluate({ fact: 'a.n', gt: 1, lt: 5 }, facts), false);
  assert.equal(evaluate({ fact: 'a.list', contains: 'billing' }, facts), true);
  assert.equal(evaluate({ fact: 'a.s', gt: 1 }, facts), false);
});

test('priorities add, the last group wins over the widget, skills accumulate once, the last language wins', () => {
  const rules: RoutingRules = {
    version: 't', defaultGroup: 'general',
    rules: [
      { name: 'a', when: { fact: 'x.on', eq: true }, then: { priority: 5, group: 'one', skills: ['de', 'billing'], language: 'de' } },
      { name: 'b', when: { fact: 'x.on', eq: true }, then: { priority: -2, group: 'two', skills: ['billing', 'vip'], language: 'fr' } },
      { name: 'c', when: { fact: 'x.on', eq: false }, then: { group: 'three' } },
    ],
  };
  const result = evaluateRules(rules, { 'x.on': true, 'widget.group': 'sales' });
  assert.equal(result.priority, 3);
  assert.equal(result.group, 'two');
  assert.deepEqual(result.skills, ['de', 'billing', 'vip']);
  assert.equal(result.language, 'fr');
});

test('no rule names a group: the widget group, then defaultGroup', () => {
  const rules: RoutingRules = { version: 't', defaultGroup: 'general', rules: [] };
  assert.equal(evaluateRules(rules, { 'widget.group': 'sales' }).group, 'sales');
  assert.equal(evaluateRules(rules, { 'widget.group': 'sales' }, { group: 'support' }).group, 'support');
  assert.equal(evaluateRules(rules, {}).group, 'general');
});

test('rank: a point of priority is worth msPerPoint of waiting, default 1000 ms', () => {
  assert.equal(rankOf(50, 100_000, {}), 50_000);
  assert.equal(rankOf(50, 100_000, { ageing: { msPerPoint: 10 } }), 99_500);
  // A VIP (+50) arriving 10 s after a standard customer is still ahead of it.
  assert.ok(rankOf(50, 110_000, {}) < rankOf(0, 100_000, {}));
  // Ageing: one arriving more than 50 s later is not.
  assert.ok(rankOf(50, 160_001, {}) > rankOf(0, 100_000, {}));
});

test('the schema refuses unknown properties, bad times and zones, listing every problem at once', () => {
  const issues = validate({
    version: 'x', defaultGroup: 'general', extra: 1,
    groups: { sales: { hours: { timeZone: 'Europe/Berlin', weekly: { mon: [['9:00', '18:00']], funday: [] } } } },
    rules: [{ name: 'a', when: { fact: 'customer.tier', eq: 'vip', like: 'v' }, then: { priority: 1 } }],
  });
  const messages = issues.map((i) => i.message);
  assert.ok(messages.includes('extra is not allowed'), messages.join('\n'));
  assert.ok(messages.some((m) => m.startsWith('groups.sales.hours.weekly.mon[0][0] must match pattern')), messages.join('\n'));
  assert.ok(messages.includes('groups.sales.hours.weekly.funday is not allowed'), messages.join('\n'));
  assert.ok(messages.includes('rules[0].when.like is not allowed'), messages.join('\n'));
});

test('a comparison needs an operator; an effect needs something to do', () => {
  const messages = validate({ version: 'x', defaultGroup: 'g', rules: [{ name: 'a', when: { fact: 'a.b' }, then: {} }] }).map((i) => i.message);
  assert.ok(messages.some((m) => m.startsWith('rules[0].when ')), messages.join('\n'));
  assert.ok(messages.some((m) => m.startsWith('rules[0].then ')), messages.join('\n'));
});

test('an unknown IANA zone, a range that ends before it starts and a repeated rule name are refused', () => {
  const messages = validate({
    version: 'x', defaultGroup: 'general',
    groups: { sales: { hours: { timeZone: 'Europe/Atlantis', weekly: { mon: [['18:00', '09:00'], ['20:00', '24:00']] } } } },
    rules: [
      { name: 'a', when: { fact: 'a.b', eq: 1 }, then: { priority: 1 } },
      { name: 'a', when: { not: { any: [{ fact: 'a.b', known: true }] } }, then: { priority: 1 } },
    ],
  }).map((i) => i.message);
  assert.deepEqual(messages.sort(), [
    'groups.sales.hours.timeZone is not an IANA time zone: Europe/Atlantis',
    'groups.sales.hours.weekly.mon[0] must end after it starts (18:00–09:00)',
    'rules[1].name repeats the rule name "a": names must be unique',
  ]);
});

test('a value of none of the allowed types is one problem naming the types', () => {
  const issues = validate({ version: 'x', defaultGroup: 'g', rules: [{ name: 'a', when: { fact: 'a.b', eq: [1] }, then: { priority: 1 } }] });
  assert.deepEqual(issues, [{ pointer: '/rules/0/when/eq', message: 'rules[0].when.eq must be one of: string, number, boolean' }]);
});
