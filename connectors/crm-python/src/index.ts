import { apiKeyAuth, defineConnector } from 'omnigate/sdk';
import { configSchema, type CrmConfig } from './config.ts';
import { getCustomer } from './operations/get-customer.ts';
import { listCustomers } from './operations/list-customers.ts';

/** The records a customer names, for lineage: the customer master's id, and the same customer's ids in the orders and tickets systems. */
const CUSTOMER_KEYS = [
  { type: 'customer', path: 'id' },
  { type: 'customer', path: 'externalIds.orders', system: 'orders' },
  { type: 'requester', path: 'externalIds.tickets', system: 'tickets' },
] as const;

export default defineConnector<CrmConfig>({
  manifest: {
    name: 'crm-python',
    version: '1.0.0',
    system: 'crm',
    description: 'Customer profiles from the Python CRM, the customer master (DRF-style REST, token auth).',
    configSchema,
    capabilities: [
      {
        name: 'customer.get',
        kind: 'query',
        description: 'One customer by the canonical id, with their ids in the other systems.',
        params: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1 } } },
        result: 'Customer',
        businessKeys: CUSTOMER_KEYS,
      },
      {
        name: 'customer.list',
        kind: 'query',
        description: 'Customers, paged, optionally filtered by exact email (case-insensitive).',
        params: {
          type: 'object',
          additionalProperties: false,
          properties: {
            email: { type: 'string', minLength: 3 },
            page: { type: 'integer', minimum: 1, default: 1 },
            pageSize: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
          },
        },
        result: 'Page<Customer>',
        businessKeys: CUSTOMER_KEYS,
      },
    ],
    proxy: { allow: [{ methods: ['GET'], path: '/api/customers/' }, { methods: ['GET'], path: '/api/customers/*/' }] },
  },

  async auth({ config }) {
    return apiKeyAuth({ header: 'Authorization', value: `Token ${config.apiToken}` });
  },

  queries: { 'customer.get': getCustomer, 'customer.list': listCustomers },

  async health({ http }) {
    // An authenticated read proves both reachability and the token.
    const reply = await http.request({ path: '/api/customers/', query: { page_size: 1 } });
    return reply.status === 200 ? { ok: true } : { ok: false, detail: `GET /api/customers/ answered ${reply.status}` };
  },
});
