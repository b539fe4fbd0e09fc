import { defineConnector, oauth2ClientCredentials } from 'omnigate/sdk';
import { configSchema, type OrdersConfig } from './config.ts';
import { getOrder } from './operations/get-order.ts';
import { listOrders } from './operations/list-orders.ts';
import { listProducts } from './operations/list-products.ts';
import { pollStatusChanges } from './events/poll-status-changes.ts';

/** The records an order names, for lineage: the order, its customer (by the orders system's id) and each product ordered. */
const ORDER_KEYS = [
  { type: 'order', path: 'id' },
  { type: 'customer', path: 'customerRef' },
  { type: 'product', path: 'lines[].sku' },
] as const;

export default defineConnector<OrdersConfig>({
  manifest: {
    name: 'orders-java',
    version: '1.0.0',
    system: 'orders',
    description: 'Orders from the Java orders service (Spring-style REST, OAuth2 client credentials).',
    configSchema,
    capabilities: [
      {
        name: 'order.get',
        kind: 'query',
        description: 'One order by its id.',
        params: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1 } } },
        result: 'Order',
        businessKeys: ORDER_KEYS,
      },
      {
        name: 'order.list',
        kind: 'query',
        description: "A customer's orders, newest first, by the customer's id in the orders system.",
        params: {
          type: 'object',
          required: ['customerRef'],
          additionalProperties: false,
          properties: {
            customerRef: { type: 'string', minLength: 1 },
            page: { type: 'integer', minimum: 1, default: 1 },
            pageSize: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
          },
        },
        result: 'Page<Order>',
        businessKeys: ORDER_KEYS,
      },
      {
        name: 'product.list',
        kind: 'query',
        description: 'The product catalogue (SKU, name, price): every product, on one page.',
        params: { type: 'object', additionalProperties: false, properties: {} },
        result: 'Page<Product>',
        businessKeys: [{ type: 'product', path: 'sku' }],
      },
    ],
    proxy: { allow: [{ methods: ['GET'], path: '/api/orders/*' }, { methods: ['GET'], path: '/api/customers/*/orders' }, { methods: ['GET'], path: '/api/products' }] },
    // The orders service has no webhooks: its change feed is polled (one gateway node at a time).
    events: { types: ['order.status_changed'], pollIntervalMs: 1000 },
  },

  async auth({ config, http }) {
    const authenticator = oauth2ClientCredentials({ http, tokenPath: '/oauth/token', clientId: config.clientId, clientSecret: config.clientSecret });
    await authenticator.token();
    return authenticator;
  },

  queries: { 'order.get': getOrder, 'order.list': listOrders, 'product.list': listProducts },

  poll: pollStatusChanges,

  async health({ http }) {
    const reply = await http.request({ path: '/health' });
    return reply.status === 200 ? { ok: true } : { ok: false, detail: `GET /health answered ${reply.status}` };
  },
});
