import { readEnvArea } from './env-area.ts';

export const DEFAULT_SERVICE_NAME = 'omnigate-gateway';
/** The batch span processor's delay between two exports (OTel's own default is 5000 ms). */
export const DEFAULT_EXPORT_DELAY_MS = 5_000;

/**
 * Tracing (the standard OpenTelemetry variables): spans are always made, so that every answer's
 * trace id is an OpenTelemetry one; they leave the process only when an OTLP endpoint is set.
 */
export interface TelemetryConfig {
  /** `OTEL_SERVICE_NAME`: the gateway's service name in Jaeger; connectors' workers are `omnigate-connector-<name>`. */
  readonly serviceName: string;
  /**
   * `OTEL_EXPORTER_OTLP_ENDPOINT`: the OTLP/HTTP base URL (`http://127.0.0.1:4318`; spans go to
   * `<url>/v1/traces`); unset: nothing is exported.
   */
  readonly otlpEndpoint?: string;
  /** `OTEL_BSP_SCHEDULE_DELAY`: milliseconds between two exports of finished spans. */
  readonly exportDelayMs: number;
}

const TELEMETRY_ENV_SCHEMA = {
  type: 'object',
  properties: {
    OTEL_SERVICE_NAME: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,100}$', default: DEFAULT_SERVICE_NAME },
    OTEL_EXPORTER_OTLP_ENDPOINT: { type: 'string', pattern: '^https?://[^\\s]+$', maxLength: 2048 },
    OTEL_BSP_SCHEDULE_DELAY: { type: 'integer', minimum: 1, maximum: 600_000, default: DEFAULT_EXPORT_DELAY_MS },
  },
} as const;

const MESSAGES = {
  OTEL_EXPORTER_OTLP_ENDPOINT: 'must be an http(s) URL: the OTLP/HTTP receiver, e.g. http://127.0.0.1:4318',
  OTEL_SERVICE_NAME: 'must be 1 to 100 letters, digits, dots, _ or -',
};

/** Reads the OTEL_* variables the gateway honours; every problem is listed (the caller reports them with the rest). */
export function parseTelemetryConfig(env: NodeJS.ProcessEnv): { readonly config?: TelemetryConfig; readonly problems: readonly string[] } {
  const { raw, problems } = readEnvArea(env, TELEMETRY_ENV_SCHEMA, MESSAGES);
  if (problems.length > 0) return { problems };
  const endpoint = raw.OTEL_EXPORTER_OTLP_ENDPOINT as string | undefined;
  if (endpoint !== undefined && !URL.canParse(endpoint)) return { problems: [`OTEL_EXPORTER_OTLP_ENDPOINT ${MESSAGES.OTEL_EXPORTER_OTLP_ENDPOINT}`] };
  return {
    config: Object.freeze({
      serviceName: raw.OTEL_SERVICE_NAME as string,
      ...(endpoint === undefined ? {} : { otlpEndpoint: endpoint.replace(/\/+$/, '') }),
      exportDelayMs: raw.OTEL_BSP_SCHEDULE_DELAY as number,
    }),
    problems: [],
  };
}
