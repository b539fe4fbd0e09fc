// Consumer side of contracts/crm-python-crm.json: the CRM connector's real operations, run
// against a Pact mock server that answers as the contract says.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MatchersV3 as m } from '@pact-foundation/pact';
import { NotFoundError, type ConnectorContext } from 'omnigate/sdk';
import crm from '../../connectors/crm-python/src/index.ts';
import type { CrmConfig } from '../../connectors/crm-python/src/config.ts';
import { repoContract, schemas } from './support/contract-consumer.ts';

const contract = await repoContract('crm-python', 'crm');

// A placeholder: the provider verification swaps in the backend's real token.
const TOKEN = 'contract-token';
const JSON_HEADERS = { 'Content-Type': m.regex('^application/json(;.*)?$', 'application/json') };
const authorized = { Accept: 'application/json', Authorization: m.regex('^Token \\S+$', `Token ${TOKEN}`) };

const CUSTOMER = {
  id: 42,
  first_name: m.string('Quinn'),
  last_name: m.string('Martin'),
  email: m.string('quinn.martin.42@example.com'),
  phone: m.string('+49 30 3671261'),
  tier: m.regex('^(vip|gold|standard)$', 'gold'),
  language: m.regex('^[a-z]{2,3}(-[A-Z]{2})?$', 'es'),
  created_at: m.regex('^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$', '2023-01-24T05:48:36-05:00'),
  lifetime_value: '14832.38', // see decimalString
  currency: m.regex('^[A-Z]{3}$', 'EUR'),
  external_ids: { orders_customer_no: m.string('C-100042'), tickets_user_id: m.string('u_f42b2537') },
};

/**
 * A regex alone would also accept the number 14832.38 (Pact matches a regex against a number's
 * text), yet the mapper needs a decimal string: so type AND regex.
 */
const decimalString = (path: string) => ({ path, rules: [m.string('14832.38'), m.regex('^-?\\d+(\\.\\d{1,2})?$', '14832.38')] });

const run = (work: (ctx: ConnectorContext<CrmConfig>) => Promise<void>) => contract.execute(crm, (baseUrl) => ({ baseUrl, apiToken: TOKEN }), work);

test('customer.get maps a recorded DRF customer to a schema-valid canonical Customer', async () => {
  const request = { method: 'GET', path: '/api/customers/42/', headers: authorized };
  contract.pact
    .given('a customer exists', { id: 42 })
    .uponReceiving('a request for one customer')
    .withRequest(request)
    .willRespondWith({ status: 200, headers: JSON_HEADERS, body: CUSTOMER })
    .withResponseMatchingRules(request, { body: [decimalString('$.lifetime_value')] });
  await run(async (ctx) => {
    const customer = (await crm.query('customer.get', { id: '42' }, ctx)) as Record<string, unknown>;
    assert.equal(schemas.validatorFor('Customer')(customer), true);
    assert.equal(customer.id, '42');
    assert.equal(customer.createdAt, '2023-01-24T10:48:36.000Z');
    assert.deepEqual(customer.lifetimeValue, { amount: '14832.38', currency: 'EUR' });
    assert.deepEqual(customer.externalIds, { orders: 'C-100042', tickets: 'u_f42b2537' });
  });
});

test('customer.get reports an unknown customer as NOT_FOUND from the DRF detail reply', async () => {
  contract.pact
    .given('no customer exists', { id: 999999 })
    .uponReceiving('a request for an unknown customer')
    .withRequest({ method: 'GET', path: '/api/customers/999999/', headers: authorized })
    .willRespondWith({ status: 404, headers: JSON_HEADERS, body: { detail: m.string('Not found.') } });
  await run(async (ctx) => {
    await assert.rejects(crm.query('customer.get', { id: '999999' }, ctx), NotFoundError);
  });
});

test('customer.list maps a recorded DRF page filtered by email to a canonical page', async () => {
  const request = { method: 'GET', path: '/api/customers/', query: { page: '1', page_size: '20', email: 'quinn.martin.42@example.com' }, headers: authorized };
  contract.pact
    .given('a customer exists', { id: 42, email: 'quinn.martin.42@example.com' })
    .uponReceiving('a request for the customers with an email')
    .withRequest(request)
    .willRespondWith({ status: 200, headers: JSON_HEADERS, body: { count: 1, next: null, previous: null, results: m.eachLike(CUSTOMER) } })
    .withResponseMatchingRules(request, { body: [decimalString('$.results[*].lifetime_value')] });
  await run(async (ctx) => {
    const page = (await crm.query('customer.list', { email: 'quinn.martin.42@example.com', page: 1, pageSize: 20 }, ctx)) as { items: { id: string }[]; page: unknown };
    assert.equal(schemas.validatorFor('Page<Customer>')(page), true);
    assert.deepEqual(page.items.map((c) => c.id), ['42']);
    assert.deepEqual(page.page, { number: 1, size: 20, totalItems: 1, hasMore: false });
  });
});

test('the recorded contract is the committed contracts/crm-python-crm.json', () => contract.settle());
