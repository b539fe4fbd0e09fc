/** Config of the tickets connector (env: OMNIGATE_CONNECTOR_TICKETS_NODE_<FIELD>). */
export interface TicketsConfig {
  readonly baseUrl: string;
  readonly hmacSecret: string;
}

export const configSchema = {
  type: 'object',
  required: ['baseUrl', 'hmacSecret'],
  additionalProperties: false,
  properties: {
    baseUrl: { type: 'string', format: 'uri', default: 'http://127.0.0.1:8083' },
    hmacSecret: { type: 'string', minLength: 1, 'x-secret': true },
  },
} as const;
