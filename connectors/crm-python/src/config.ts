/** Config of the CRM connector (env: OMNIGATE_CONNECTOR_CRM_PYTHON_<FIELD>). */
export interface CrmConfig {
  readonly baseUrl: string;
  readonly apiToken: string;
}

export const configSchema = {
  type: 'object',
  required: ['baseUrl', 'apiToken'],
  additionalProperties: false,
  properties: {
    baseUrl: { type: 'string', format: 'uri', default: 'http://127.0.0.1:8082' },
    apiToken: { type: 'string', minLength: 1, 'x-secret': true },
  },
} as const;
