/** Config of the orders connector (env: OMNIGATE_CONNECTOR_ORDERS_JAVA_<FIELD>). */
export interface OrdersConfig {
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The IANA zone the orders system keeps its local date-times in. */
  readonly timeZone: string;
}

export const configSchema = {
  type: 'object',
  required: ['baseUrl', 'clientId', 'clientSecret'],
  additionalProperties: false,
  properties: {
    baseUrl: { type: 'string', format: 'uri', default: 'http://127.0.0.1:8081' },
    clientId: { type: 'string', minLength: 1 },
    clientSecret: { type: 'string', minLength: 1, 'x-secret': true },
    timeZone: { type: 'string', default: 'Europe/Berlin' },
  },
} as const;
