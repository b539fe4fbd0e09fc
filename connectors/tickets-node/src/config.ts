/** Config of the tickets connector (env: OMNIGATE_CONNECTOR_TICKETS_NODE_<FIELD>). */
export interface TicketsConfig {
  readonly baseUrl: string;
  readonly hmacSecret: string;
  /** Verifies the service's signed webhooks; without it, webhooks are refused. */
  readonly webhookSecret?: string;
  /** Deliveries signed longer ago than this are refused as replays. */
  readonly webhookToleranceMs: number;
}

export const configSchema = {
  type: 'object',
  required: ['baseUrl', 'hmacSecret'],
  additionalProperties: false,
  properties: {
    baseUrl: { type: 'string', format: 'uri', default: 'http://127.0.0.1:8083' },
    hmacSecret: { type: 'string', minLength: 1, 'x-secret': true },
    webhookSecret: { type: 'string', minLength: 1, 'x-secret': true },
    webhookToleranceMs: { type: 'integer', minimum: 1000, default: 300000 },
  },
} as const;
