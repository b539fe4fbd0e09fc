import { SPAN_ONLY_INSTRUMENTATIONS, type SpanOnlyInstrumentation } from '../kernel/instrumentation-names.ts';
import { RATIO_SAMPLERS, SAMPLER_NAMES, takesRatio, type SamplerName, type TraceSampler } from '../kernel/sampling.ts';
import { readEnvArea } from './env-area.ts';

export const DEFAULT_SERVICE_NAME = 'omnigate-gateway';
/** The batch span processor's delay between two exports (OTel's own default is 5000 ms). */
export const DEFAULT_EXPORT_DELAY_MS = 5_000;
/** OTEL_TRACES_SAMPLER_ARG when a ratio sampler is named without it (OpenTelemetry's default). */
export const DEFAULT_SAMPLER_RATIO = 1;

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
  /**
   * `OTEL_TRACES_SAMPLER` (and `OTEL_TRACES_SAMPLER_ARG` for the ratio ones): which traces are
   * sampled, i.e. recorded and exported, and marked so in the `traceparent` the gateway sends on.
   * Unset: OpenTelemetry's default, `parentbased_always_on` (every trace, unless the caller
   * marked it unsampled).
   */
  readonly sampler?: TraceSampler;
  /**
   * `OTEL_NODE_DISABLED_INSTRUMENTATIONS`: instrumentations left off when spans are exported (of
   * http, express, ioredis). They cost CPU on every request, sampled or not (bench/README.md);
   * without http's the request's server span is the gateway's own, as when nothing is exported.
   */
  readonly disabledInstrumentations?: readonly SpanOnlyInstrumentation[];
}

const TELEMETRY_ENV_SCHEMA = {
  type: 'object',
  properties: {
    OTEL_SERVICE_NAME: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,100}$', default: DEFAULT_SERVICE_NAME },
    OTEL_EXPORTER_OTLP_ENDPOINT: { type: 'string', pattern: '^https?://[^\\s]+$', maxLength: 2048 },
    OTEL_BSP_SCHEDULE_DELAY: { type: 'integer', minimum: 1, maximum: 600_000, default: DEFAULT_EXPORT_DELAY_MS },
    OTEL_TRACES_SAMPLER: { type: 'string', enum: SAMPLER_NAMES },
    OTEL_TRACES_SAMPLER_ARG: { type: 'number', minimum: 0, maximum: 1 },
    OTEL_NODE_DISABLED_INSTRUMENTATIONS: { type: 'string', maxLength: 200 },
  },
} as const;

const MESSAGES = {
  OTEL_EXPORTER_OTLP_ENDPOINT: 'must be an http(s) URL: the OTLP/HTTP receiver, e.g. http://127.0.0.1:4318',
  OTEL_SERVICE_NAME: 'must be 1 to 100 letters, digits, dots, _ or -',
  OTEL_TRACES_SAMPLER: `must be one of ${SAMPLER_NAMES.join(', ')}`,
  OTEL_TRACES_SAMPLER_ARG: 'must be a number from 0 to 1: the share of new traces sampled by a traceidratio sampler',
};

/** Reads the OTEL_* variables the gateway honours; every problem is listed (the caller reports them with the rest). */
export function parseTelemetryConfig(env: NodeJS.ProcessEnv): { readonly config?: TelemetryConfig; readonly problems: readonly string[] } {
  const { raw, problems } = readEnvArea(env, TELEMETRY_ENV_SCHEMA, MESSAGES);
  if (problems.length > 0) return { problems };
  const endpoint = raw.OTEL_EXPORTER_OTLP_ENDPOINT as string | undefined;
  if (endpoint !== undefined && !URL.canParse(endpoint)) return { problems: [`OTEL_EXPORTER_OTLP_ENDPOINT ${MESSAGES.OTEL_EXPORTER_OTLP_ENDPOINT}`] };
  const name = raw.OTEL_TRACES_SAMPLER as SamplerName | undefined;
  const ratio = raw.OTEL_TRACES_SAMPLER_ARG as number | undefined;
  // Refused rather than ignored: a ratio set alone would otherwise sample every trace, unnoticed.
  if (ratio !== undefined && (name === undefined || !takesRatio(name))) {
    return { problems: [`OTEL_TRACES_SAMPLER_ARG is only for OTEL_TRACES_SAMPLER=${RATIO_SAMPLERS.join(' or ')}, and that is ${name ?? 'unset'}`] };
  }
  const disabled = String(raw.OTEL_NODE_DISABLED_INSTRUMENTATIONS ?? '').split(',').map((n) => n.trim()).filter((n) => n !== '');
  const unknown = disabled.filter((n) => !(SPAN_ONLY_INSTRUMENTATIONS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    return { problems: [`OTEL_NODE_DISABLED_INSTRUMENTATIONS names ${unknown.join(', ')}: only ${SPAN_ONLY_INSTRUMENTATIONS.join(', ')} may be left off (kafkajs's carries the trace context in Kafka headers)`] };
  }
  return {
    config: Object.freeze({
      serviceName: raw.OTEL_SERVICE_NAME as string,
      ...(endpoint === undefined ? {} : { otlpEndpoint: endpoint.replace(/\/+$/, '') }),
      exportDelayMs: raw.OTEL_BSP_SCHEDULE_DELAY as number,
      ...(name === undefined ? {} : { sampler: samplerFor(name, ratio ?? DEFAULT_SAMPLER_RATIO) }),
      ...(disabled.length === 0 ? {} : { disabledInstrumentations: Object.freeze([...new Set(disabled)] as SpanOnlyInstrumentation[]) }),
    }),
    problems: [],
  };
}

function samplerFor(name: SamplerName, ratio: number): TraceSampler {
  return Object.freeze(takesRatio(name) ? { name, ratio } : { name });
}
