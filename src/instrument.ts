// The gateway's OpenTelemetry preload: `node --import ./src/instrument.ts src/main.ts` (npm start,
// the demo, docker, the test suite's gateway processes). It must run before express, ioredis,
// kafkajs and node:http are loaded, so that their instrumentations patch them: CommonJS packages
// through require-in-the-middle, ES modules through import-in-the-middle's in-thread loader hooks
// (module.registerHooks), limited to the modules instrumented. Worker threads inherit the flag and
// skip it: a connector's worker starts its own, uninstrumented tracing (connector-worker.ts).
// Without this preload the gateway still makes its spans (src/gateway.ts starts the tracing),
// only the instrumentations' are missing.
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  const [{ register, supportsSyncHooks }, { parseTelemetryConfig }, { startTelemetry }, { gatewayInstrumentations }] = await Promise.all([
    import('import-in-the-middle/register-hooks.mjs'),
    import('./config/telemetry-config.ts'),
    import('./kernel/telemetry.ts'),
    import('./kernel/instrumentations.ts'),
  ]);
  if (supportsSyncHooks()) register({ include: ['express', 'ioredis', 'kafkajs', 'http', 'https', 'node:http', 'node:https'] });
  // An invalid setting is reported by main.ts with every other problem; the tracing waits for it.
  const { config } = parseTelemetryConfig(process.env);
  if (config) startTelemetry({ ...config, instrumentations: gatewayInstrumentations({ exporting: Boolean(config.otlpEndpoint), ...(config.disabledInstrumentations ? { disabled: config.disabledInstrumentations } : {}) }) });
}
