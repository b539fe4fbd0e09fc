import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createRedis, type RedisHandle } from '../../src/adapters/redis/redis-client.ts';
import { createRedisStaleCache } from '../../src/adapters/redis/redis-stale-cache.ts';
import { DEFAULT_STALE_REWRITE_MS } from '../../src/config/config.ts';
import { createLogger } from '../../src/kernel/logger.ts';
import { OPEN_ORDER_STATUSES } from '../../src/modules/dispatch/business-facts.ts';
import { createRoutingFacts, type RoutingFactsDeps } from '../../src/modules/dispatch/routing-facts.ts';
import { evaluateRules } from '../../src/modules/dispatch/routing-rules.ts';
import type { FactSource } from '../../src/modules/dispatch/routing.types.ts';
import { backendAdmin, perTestGateways, setFault, type TestGateway } from '../support/gateway.ts';
import { TEST_REDIS_CACHE_URL } from '../support/ports.ts';

const { gateway } = perTestGateways();
const log = createLogger({ level: 'silent' });
let cacheRedis: RedisHandle;
before(() => {
  cacheRedis = createRedis(TEST_REDIS_CACHE_URL, log, { name: 'test-cache' });
});
after(() => cacheRedis.close());

/** A VIP of the deterministic seed, with open orders. */
const VIP = '28';
const visitor = (customerId?: string) => ({ id: `v-${randomUUID()}`, site: 'shop', ...(customerId ? { customerId } : {}) });
const subject = (customerId?: string) => ({ visitor: visitor(customerId), topic: 'delivery', page: '/orders/17', language: 'de', group: 'general' });
const facts = (gw: TestGateway, deps: Partial<RoutingFactsDeps> = {}) => createRoutingFacts({ context: gw.context, log, timeoutMs: 10_000, cacheTtlMs: 0, lastKnownTtlMs: 60_000, ...deps });
const source = (sources: readonly FactSource[], name: string) => sources.find((s) => s.name === name);
/** A facts cache of this test's own (a fresh key space: no customer seen before). */
const ownCache = () => createRedisStaleCache(cacheRedis, { prefix: `omnigate:test:routing-facts:${randomUUID()}:`, rewriteMs: DEFAULT_STALE_REWRITE_MS });
const VIP_RULES = { version: 't', defaultGroup: 'general', rules: [{ name: 'vip', when: { fact: 'customer.tier', eq: 'vip' }, then: { priority: 50 } }] };

/** The facts the public context API implies for a customer, computed independently. */
async function expectedFacts(gw: TestGateway, id: string) {
  const body = (await (await gw.api(`/v1/customers/${id}/context?ordersLimit=50&ticketsLimit=50`)).json()) as any;
  const open = body.parts.orders.data.filter((o: any) => OPEN_ORDER_STATUSES.includes(o.status));
  const tickets = body.parts.openTickets.data;
  return {
    'customer.tier': body.parts.customer.data.tier,
    'orders.openCount': open.length,
    'orders.openValueMaxEur': open.length === 0 ? 0 : Math.max(...open.map((o: any) => Number(o.total.amount))),
    'tickets.openCount': tickets.length,
    'tickets.openUrgentCount': tickets.filter((t: any) => t.priority === 'urgent').length,
  };
}

describe('routing facts from the real backends through the query API', () => {
  test("a VIP customer's facts: tier, open orders and tickets, widget and bot, each source ok with its connector", async () => {
    const gw = await gateway();
    const expected = await expectedFacts(gw, VIP);
    assert.equal(expected['customer.tier'], 'vip');
    assert.ok(expected['orders.openCount'] > 0, 'the seed gives this VIP open orders');
    const gathered = await facts(gw).gather(subject(VIP), { classification: { intent: 'order_status', language: 'de', skills: ['orders'] } });
    for (const [name, value] of Object.entries(expected)) assert.deepEqual(gathered.facts[name], value, name);
    assert.equal(gathered.facts['customer.known'], true);
    assert.equal(gathered.facts['widget.topic'], 'delivery');
    assert.equal(gathered.facts['widget.group'], 'general');
    assert.equal(gathered.facts['bot.intent'], 'order_status');
    assert.deepEqual(gathered.facts['bot.skills'], ['orders']);
    assert.deepEqual(source(gathered.sources, 'customer'), { name: 'customer', connector: 'crm-python', status: 'ok', fetchedAt: source(gathered.sources, 'customer')?.fetchedAt });
    assert.equal(source(gathered.sources, 'orders')?.connector, 'orders-java');
    assert.equal(source(gathered.sources, 'tickets')?.connector, 'tickets-node');
    assert.deepEqual(gathered.sources.map((s) => s.status), ['ok', 'ok', 'ok', 'ok', 'ok']);
  });

  test('the CRM hanging: the facts come back at the deadline, customer data missing (UPSTREAM_TIMEOUT), the rest known', async () => {
    const gw = await gateway();
    // The CRM never answers: that gather returns at all is the deadline giving up on it.
    await setFault('crm', { mode: 'hang' });
    const gathered = await facts(gw, { timeoutMs: 300 }).gather(subject(VIP), { classification: { intent: 'billing' } });
    assert.equal(gathered.facts['customer.tier'], null);
    assert.equal(gathered.facts['orders.openValueMaxEur'], null);
    assert.deepEqual(source(gathered.sources, 'customer'), { name: 'customer', connector: 'crm-python', status: 'missing', reason: 'UPSTREAM_TIMEOUT' });
    // The orders and tickets ids are in the profile: without it they could not be asked.
    assert.equal(source(gathered.sources, 'orders')?.status, 'missing');
    assert.equal(gathered.facts['customer.known'], true, 'the visitor is a verified customer, whatever the CRM says now');
    assert.equal(gathered.facts['widget.topic'], 'delivery');
    assert.equal(gathered.facts['bot.intent'], 'billing');
    assert.equal(source(gathered.sources, 'widget')?.status, 'ok');
  });

  test('the CRM hanging for a customer seen before: each source\'s last known facts are used, marked stale (UPSTREAM_TIMEOUT) with when they were read; the VIP rule fires; nothing missing', async () => {
    const gw = await gateway();
    // The fresh cache off: only the last known copies can answer.
    const routing = facts(gw, { cache: ownCache(), cacheTtlMs: 0, timeoutMs: 300 });
    const first = await routing.gather(subject(VIP));
    assert.deepEqual(first.sources.slice(1).map((s) => s.status), ['ok', 'ok', 'ok']);
    await setFault('crm', { mode: 'hang' });
    const gathered = await routing.gather(subject(VIP));
    for (const name of ['customer', 'orders', 'tickets']) {
      const was = source(first.sources, name)!;
      assert.deepEqual(source(gathered.sources, name), { name, connector: was.connector, status: 'stale', fetchedAt: was.fetchedAt, reason: 'UPSTREAM_TIMEOUT' }, name);
    }
    for (const name of ['customer.tier', 'orders.openCount', 'orders.openValueMaxEur', 'tickets.openCount', 'tickets.openUrgentCount']) {
      assert.deepEqual(gathered.facts[name], first.facts[name], name);
    }
    assert.equal(gathered.facts['customer.tier'], 'vip');
    assert.deepEqual(gathered.sources.filter((s) => s.status === 'missing'), []);
    const result = evaluateRules(VIP_RULES, gathered.facts);
    assert.equal(result.priority, 50);
    assert.equal(result.outcomes[0]?.outcome, 'fired');
  });

  test('the CRM hanging for a customer never seen: nothing to fall back on, missing as before', async () => {
    const gw = await gateway();
    await setFault('crm', { mode: 'hang' });
    const gathered = await facts(gw, { cache: ownCache(), cacheTtlMs: 0, timeoutMs: 300 }).gather(subject(VIP));
    assert.deepEqual(gathered.sources.slice(1).map((s) => [s.name, s.status, s.reason]), [['customer', 'missing', 'UPSTREAM_TIMEOUT'], ['orders', 'missing', 'UPSTREAM_TIMEOUT'], ['tickets', 'missing', 'UPSTREAM_TIMEOUT']]);
    assert.equal(gathered.facts['customer.tier'], null);
    assert.equal(evaluateRules(VIP_RULES, gathered.facts).outcomes[0]?.outcome, 'unknown');
  });

  test('the tickets backend hanging after a good answer: only tickets from the last known copy (stale), profile and orders live', async () => {
    const gw = await gateway();
    const routing = facts(gw, { cache: ownCache(), cacheTtlMs: 0, timeoutMs: 1_000 });
    const first = await routing.gather(subject(VIP));
    await setFault('tickets', { mode: 'hang' });
    const gathered = await routing.gather(subject(VIP));
    assert.deepEqual(gathered.sources.slice(1).map((s) => [s.name, s.status]), [['customer', 'ok'], ['orders', 'ok'], ['tickets', 'stale']]);
    assert.deepEqual(source(gathered.sources, 'tickets'), { name: 'tickets', connector: 'tickets-node', status: 'stale', fetchedAt: source(first.sources, 'tickets')?.fetchedAt, reason: 'UPSTREAM_TIMEOUT' });
    assert.equal(gathered.facts['tickets.openCount'], first.facts['tickets.openCount']);
  });

  test('the tickets backend hanging: orders and the profile are known, tickets missing at the deadline', async () => {
    const gw = await gateway();
    await setFault('tickets', { mode: 'hang' });
    const gathered = await facts(gw, { timeoutMs: 1_000 }).gather(subject(VIP));
    assert.equal(gathered.facts['customer.tier'], 'vip');
    assert.equal(source(gathered.sources, 'orders')?.status, 'ok');
    assert.deepEqual(source(gathered.sources, 'tickets'), { name: 'tickets', connector: 'tickets-node', status: 'missing', reason: 'UPSTREAM_TIMEOUT' });
    assert.equal(gathered.facts['tickets.openUrgentCount'], null);
  });

  test('the CRM down after a good answer: the last good profile is used, marked stale with when it was read', async () => {
    const gw = await gateway();
    const first = await facts(gw).gather(subject(VIP));
    assert.equal(source(first.sources, 'customer')?.status, 'ok');
    await setFault('crm', { mode: 'down' });
    const gathered = await facts(gw).gather(subject(VIP));
    const customer = source(gathered.sources, 'customer');
    assert.equal(customer?.status, 'stale');
    assert.equal(customer?.reason, 'UPSTREAM_UNAVAILABLE');
    assert.ok(customer?.fetchedAt !== undefined && Date.parse(customer.fetchedAt) <= Date.parse(source(first.sources, 'customer')!.fetchedAt!) + 1_000);
    assert.equal(gathered.facts['customer.tier'], 'vip');
    assert.equal(source(gathered.sources, 'orders')?.status, 'ok', 'the stale profile still names the orders id');
  });

  test('a visitor who is not a verified customer: business facts unknown (NO_CUSTOMER), nothing asked of the backends', async () => {
    const gw = await gateway();
    await backendAdmin('crm', 'stats/reset', 'POST');
    const gathered = await facts(gw).gather(subject());
    assert.equal(gathered.facts['customer.known'], false);
    assert.equal(gathered.facts['customer.tier'], null);
    assert.deepEqual(gathered.sources.filter((s) => s.status === 'missing').map((s) => [s.name, s.reason]), [['customer', 'NO_CUSTOMER'], ['orders', 'NO_CUSTOMER'], ['tickets', 'NO_CUSTOMER']]);
    assert.equal((await backendAdmin<{ requests: number }>('crm', 'stats')).requests, 0);
  });

  test("routing's facts cache: a second gather within the TTL is served from it, marked cached with the first read's time", async () => {
    const gw = await gateway();
    const cache = createRedisStaleCache(cacheRedis, { prefix: `omnigate:test:routing-facts:${randomUUID()}:`, rewriteMs: DEFAULT_STALE_REWRITE_MS });
    const routing = facts(gw, { cache, cacheTtlMs: 60_000 });
    const first = await routing.gather(subject(VIP));
    assert.deepEqual(first.sources.map((s) => s.status), ['ok', 'ok', 'ok', 'ok']);
    await backendAdmin('crm', 'stats/reset', 'POST');
    const second = await routing.gather(subject(VIP));
    assert.deepEqual(second.sources.slice(1).map((s) => s.status), ['cached', 'cached', 'cached']);
    assert.equal(source(second.sources, 'customer')?.fetchedAt, source(first.sources, 'customer')?.fetchedAt);
    assert.equal(second.facts['customer.tier'], 'vip');
    assert.equal((await backendAdmin<{ requests: number }>('crm', 'stats')).requests, 0, 'the CRM was not asked again');
  });
});
