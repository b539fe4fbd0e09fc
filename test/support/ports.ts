/** Fixed loopback ports of the backends the test run starts once (apart from the demo's 808x). */
export const TEST_PORTS = { orders: 18081, crm: 18082, tickets: 18083 } as const;
export const TEST_REDIS_PORT = 16379;
export const TEST_REDIS_URL = `redis://127.0.0.1:${TEST_REDIS_PORT}`;
export const TEST_URLS = {
  orders: `http://127.0.0.1:${TEST_PORTS.orders}`,
  crm: `http://127.0.0.1:${TEST_PORTS.crm}`,
  tickets: `http://127.0.0.1:${TEST_PORTS.tickets}`,
} as const;
/** Short-lived orders tokens, so expiry and refresh happen within a test. */
export const ORDERS_TOKEN_TTL_SECONDS = 3;
