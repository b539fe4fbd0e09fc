import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_EXPORT_DELAY_MS, DEFAULT_SERVICE_NAME, parseTelemetryConfig } from './telemetry-config.ts';

test('exports nothing unless OTEL_EXPORTER_OTLP_ENDPOINT is set, as omnigate-gateway by default', () => {
  assert.deepEqual(parseTelemetryConfig({}), { config: { serviceName: DEFAULT_SERVICE_NAME, exportDelayMs: DEFAULT_EXPORT_DELAY_MS }, problems: [] });
  const { config } = parseTelemetryConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/', OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_SERVICE_NAME: 'gw-a' });
  assert.deepEqual(config, { serviceName: 'gw-a', otlpEndpoint: 'http://127.0.0.1:4318', exportDelayMs: 100 });
});

test('lists every bad tracing setting by its variable', () => {
  const { config, problems } = parseTelemetryConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317', OTEL_BSP_SCHEDULE_DELAY: '0', OTEL_SERVICE_NAME: 'has space' });
  assert.equal(config, undefined);
  assert.equal(problems.length, 3);
  for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_BSP_SCHEDULE_DELAY', 'OTEL_SERVICE_NAME']) assert.ok(problems.some((p) => p.startsWith(name)), name);
});

test("OTEL_TRACES_SAMPLER names one of OpenTelemetry's samplers, OTEL_TRACES_SAMPLER_ARG its ratio (1 by default); unset, the SDK's default", () => {
  assert.equal(parseTelemetryConfig({}).config?.sampler, undefined);
  assert.deepEqual(parseTelemetryConfig({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }).config?.sampler, { name: 'parentbased_traceidratio', ratio: 0.1 });
  assert.deepEqual(parseTelemetryConfig({ OTEL_TRACES_SAMPLER: 'traceidratio' }).config?.sampler, { name: 'traceidratio', ratio: 1 });
  assert.deepEqual(parseTelemetryConfig({ OTEL_TRACES_SAMPLER: 'always_off' }).config?.sampler, { name: 'always_off' });
  const { config, problems } = parseTelemetryConfig({ OTEL_TRACES_SAMPLER: 'sometimes', OTEL_TRACES_SAMPLER_ARG: '1.5' });
  assert.equal(config, undefined);
  assert.equal(problems.length, 2);
  assert.match(problems.find((p) => p.startsWith('OTEL_TRACES_SAMPLER '))!, /parentbased_traceidratio/);
  assert.match(problems.find((p) => p.startsWith('OTEL_TRACES_SAMPLER_ARG '))!, /from 0 to 1/);
});

test('OTEL_TRACES_SAMPLER_ARG without a ratio sampler is refused, not ignored: set alone, every trace would still be sampled', () => {
  for (const env of [{ OTEL_TRACES_SAMPLER_ARG: '0.1' }, { OTEL_TRACES_SAMPLER: 'parentbased_always_on', OTEL_TRACES_SAMPLER_ARG: '0.1' }]) {
    const { config, problems } = parseTelemetryConfig(env);
    assert.equal(config, undefined);
    assert.deepEqual(problems.map((p) => p.split(' ')[0]), ['OTEL_TRACES_SAMPLER_ARG']);
    assert.match(problems[0]!, /traceidratio or parentbased_traceidratio/);
  }
});

test('OTEL_NODE_DISABLED_INSTRUMENTATIONS names instrumentations that only add spans (http, express, ioredis); kafkajs or an unknown name is refused', () => {
  assert.equal(parseTelemetryConfig({}).config?.disabledInstrumentations, undefined);
  assert.deepEqual(parseTelemetryConfig({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: ' express, ioredis ,express' }).config?.disabledInstrumentations, ['express', 'ioredis']);
  for (const value of ['kafkajs', 'express,fs']) {
    const { config, problems } = parseTelemetryConfig({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: value });
    assert.equal(config, undefined, value);
    assert.match(problems[0] ?? '', /^OTEL_NODE_DISABLED_INSTRUMENTATIONS names (kafkajs|fs): only http, express, ioredis/);
  }
});
