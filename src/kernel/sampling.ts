// Which traces are sampled (recorded, exported, and marked sampled in the `traceparent` sent on):
// OpenTelemetry's standard samplers by the names OTEL_TRACES_SAMPLER gives them.
import { SpanKind, type Attributes, type Context, type Link } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, SamplingDecision, TraceIdRatioBasedSampler, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace';

/** OpenTelemetry's standard sampler names (OTEL_TRACES_SAMPLER, the SDK environment variable specification). */
export const SAMPLER_NAMES = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];
type RatioSamplerName = 'traceidratio' | 'parentbased_traceidratio';
/** The samplers that take a ratio (OTEL_TRACES_SAMPLER_ARG). */
export const RATIO_SAMPLERS: readonly SamplerName[] = ['traceidratio', 'parentbased_traceidratio'] satisfies RatioSamplerName[];
export const takesRatio = (name: SamplerName): name is RatioSamplerName => RATIO_SAMPLERS.includes(name);

/** A sampler by its standard name; a ratio sampler with the share of new traces it samples, 0 … 1. */
export type TraceSampler = { readonly name: RatioSamplerName; readonly ratio: number } | { readonly name: Exclude<SamplerName, RatioSamplerName> };

/** OpenTelemetry's sampler of that standard name. */
export function samplerOf(sampler: TraceSampler): Sampler {
  switch (sampler.name) {
    case 'always_on': return new AlwaysOnSampler();
    case 'always_off': return new AlwaysOffSampler();
    case 'traceidratio': return new TraceIdRatioBasedSampler(sampler.ratio);
    case 'parentbased_always_on': return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off': return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio': return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sampler.ratio) });
  }
}

/** A sampler's decision for a new span in `ctx` (its parent, if any): whether it is sampled, and the result. */
export function sampledBy(sampler: Sampler, ctx: Context, traceId: string, name: string, span: { kind?: SpanKind; attributes?: Attributes; links?: Link[] } = {}): { sampled: boolean; result: SamplingResult } {
  const result = sampler.shouldSample(ctx, traceId, name, span.kind ?? SpanKind.INTERNAL, span.attributes ?? {}, span.links ?? []);
  return { sampled: result.decision === SamplingDecision.RECORD_AND_SAMPLED, result };
}
