// `./dev demo`: the three sample backends and the gateway, one Ctrl-C stops all.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mintAgentToken } from '../src/modules/identity/dev-tokens.ts';
import { connectorEnv, startBackends } from './lib/backends.ts';
import { startJaeger } from './lib/jaeger.ts';
import { startKafka } from './lib/kafka.ts';
import { startRedisPair } from './lib/redis.ts';

/** How long the demo waits for the gateway's /readyz once everything else is up. */
const DEFAULT_READY_TIMEOUT_MS = 120_000;
const rootDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const port = Number(process.env.PORT ?? 8080);
const apiKey = process.env.OMNIGATE_API_KEYS?.split(',')[0]?.split(':').pop() ?? `demo-${randomBytes(12).toString('hex')}`;
const adminKey = process.env.OMNIGATE_ADMIN_KEYS?.split(',')[0]?.split(':').pop() ?? `admin-${randomBytes(12).toString('hex')}`;
const say = (line: string): boolean => process.stderr.write(`demo: ${line}\n`);
// Who talks in the demo: agents' JWTs under a secret of the demo's own (a real setup points
// OMNIGATE_AGENT_JWKS_URL at its identity provider), a widget key for the demo site, two agents.
const agentJwt = { secret: process.env.OMNIGATE_AGENT_JWT_SECRET ?? randomBytes(32).toString('hex'), issuer: process.env.OMNIGATE_AGENT_JWT_ISSUER ?? 'omnigate-demo', audience: process.env.OMNIGATE_AGENT_JWT_AUDIENCE ?? 'omnigate' };
const widgetKey = `wk_demo_${randomBytes(12).toString('hex')}`;
// The demo site's identity secret: its server signs a logged-in customer's id with it (identity verification).
const identitySecret = randomBytes(24).toString('hex');
// Groups and skills for routing dispatch (config/routing-rules.demo.json): general and orders.
const demoAgents = [
  { id: 'ada', displayName: 'Ada', skills: ['orders', 'returns'], languages: ['en', 'de'], groups: ['general', 'orders'], maxConcurrent: 5 },
  { id: 'sam', displayName: 'Sam (supervisor)', skills: ['escalations'], languages: ['en'], groups: ['general'], maxConcurrent: 3 },
];
const identityEnv = {
  OMNIGATE_AGENT_JWT_SECRET: agentJwt.secret, OMNIGATE_AGENT_JWT_ISSUER: agentJwt.issuer, OMNIGATE_AGENT_JWT_AUDIENCE: agentJwt.audience,
  OMNIGATE_VISITOR_TOKEN_SECRET: process.env.OMNIGATE_VISITOR_TOKEN_SECRET ?? randomBytes(32).toString('hex'),
  OMNIGATE_WIDGET_KEYS: JSON.stringify([{ name: 'demo', key: widgetKey, origins: [`http://localhost:${port}`, `http://127.0.0.1:${port}`, 'http://localhost:3000'], identitySecret }]),
  ...(process.env.OMNIGATE_AGENTS_FILE ? {} : { OMNIGATE_AGENTS: process.env.OMNIGATE_AGENTS ?? JSON.stringify(demoAgents) }),
};

say('starting kafka, redis, jaeger and the sample backends (orders: Java, crm: Python, tickets: Node)…');
// Jaeger in memory, on loopback: the gateway and its connectors' workers send their spans to it.
const jaegerStarting = startJaeger({
  otlpPort: Number(process.env.JAEGER_OTLP_PORT ?? 4318), queryPort: Number(process.env.JAEGER_UI_PORT ?? 16686), queryGrpcPort: Number(process.env.JAEGER_GRPC_PORT ?? 16685),
  dir: join(rootDir, '.data/jaeger'), ...(process.env.JAEGER_UI_ASSETS ? { uiAssets: process.env.JAEGER_UI_ASSETS } : {}),
});
jaegerStarting.catch(() => undefined);
const kafkaStarting = startKafka({ port: Number(process.env.KAFKA_PORT ?? 9092), controllerPort: Number(process.env.KAFKA_CONTROLLER_PORT ?? 9093), dir: join(rootDir, '.data/kafka'), rootDir });
// Two instances: the durable one (AOF, noeviction) and the cache (allkeys-lru); README, "Redis: two instances".
const redis = await startRedisPair({ port: Number(process.env.REDIS_PORT ?? 6379), cachePort: Number(process.env.REDIS_CACHE_PORT ?? 6380), dir: join(rootDir, '.data/redis') });
const backends = await startBackends({
  rootDir,
  ports: { orders: Number(process.env.ORDERS_PORT ?? 8081), crm: Number(process.env.CRM_PORT ?? 8082), tickets: Number(process.env.TICKETS_PORT ?? 8083) },
  logDir: join(rootDir, '.data/logs'),
  // The tickets service sends its signed webhooks to the gateway.
  env: { TICKETS_WEBHOOK_URL: `http://127.0.0.1:${port}/v1/inbound/tickets-node` },
});
const kafka = await kafkaStarting;
const jaeger = await jaegerStarting;
say(`jaeger up: ${jaeger.queryUrl} (spans in over OTLP/HTTP at ${jaeger.otlpUrl}; log in .data/jaeger/)`);
say(`kafka up: ${kafka.brokers.join(',')}; redis up: ${redis.durable.url} (durable), ${redis.cache.url} (cache); backends up: ${Object.values(backends.urls).join(' ')} (logs in .data/logs/)`);

// As npm start runs it: OpenTelemetry's instrumentations preloaded, spans to the demo's Jaeger.
const gateway = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', '--import', join(rootDir, 'src/instrument.ts'), join(rootDir, 'src/main.ts')], {
  cwd: rootDir,
  env: {
    // Routing dispatch with the demo's rules (VIP +50, a big open order to "orders", an urgent ticket +30); the environment may say otherwise.
    OMNIGATE_DISPATCH: 'routing', OMNIGATE_ROUTING_RULES_FILE: 'config/routing-rules.demo.json',
    // The built-in bot answers first (orders, returns, FAQ, in Chinese and English) and hands over on 转人工 / "agent".
    OMNIGATE_CHAT_BOT: 'builtin',
    // The demo's keys get 100,000 requests a minute, not the default 1,200, so that a load tool or an
    // API fuzzer pointed at the demo reaches the logic rather than 429s; the environment may say otherwise.
    OMNIGATE_RATE_LIMIT_PER_KEY: '100000',
    OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpUrl, OTEL_BSP_SCHEDULE_DELAY: '1000', OMNIGATE_JAEGER_UI_URL: jaeger.queryUrl,
    ...process.env, ...identityEnv, ...connectorEnv(backends.urls), ...redis.env, KAFKA_BROKERS: kafka.brokers.join(','), PORT: String(port), OMNIGATE_API_KEYS: process.env.OMNIGATE_API_KEYS ?? `demo:${apiKey}`, OMNIGATE_ADMIN_KEYS: process.env.OMNIGATE_ADMIN_KEYS ?? `ops:${adminKey}`,
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});

let stopping: Promise<never> | undefined;
function stopAll(code: number): Promise<never> {
  stopping ??= (async () => {
    say('stopping…');
    if (gateway.exitCode === null && gateway.signalCode === null) {
      gateway.kill('SIGTERM');
      await new Promise((r) => gateway.once('exit', r));
    }
    await Promise.all([backends.stop(), redis.stop(), kafka.stop(), jaeger.stop()]);
    process.exit(code);
  })();
  return stopping;
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
gateway.once('exit', (code) => void stopAll(code ?? 1));

// A first start on a slow machine can take a while (Kafka's group coordinator comes up last):
// wait for readiness on a generous bound, and say so and stop everything if it never comes.
const url = `http://127.0.0.1:${port}`;
const readyTimeoutMs = Number(process.env.DEMO_READY_TIMEOUT_MS ?? DEFAULT_READY_TIMEOUT_MS);
const readyBy = Date.now() + readyTimeoutMs;
for (;;) {
  const ready = await fetch(`${url}/readyz`).then((r) => r.json() as Promise<{ status: string }>, () => undefined);
  if (ready && ready.status !== 'not_ready') {
    process.stdout.write(`\nOmnigate ready at ${url} (${ready.status}) — API key: ${apiKey} — try: curl -s -H 'X-Api-Key: ${apiKey}' ${url}/v1/customers/42/context\n\n`);
    process.stdout.write(`Traces (Jaeger): ${jaeger.queryUrl}/search?service=omnigate-gateway — one trace as JSON: curl -s ${jaeger.queryUrl}/api/traces/<trace id> (the id is in every answer's traceparent header)\n`);
    say(`docs: ${url}/docs   connectors: curl -s -H 'X-Api-Key: ${apiKey}' ${url}/v1/connectors   Ctrl-C stops everything`);
    say(`admin key (reload/install/rollback): ${adminKey} — e.g. curl -s -X POST -H 'X-Api-Key: ${adminKey}' ${url}/v1/admin/connectors/orders-java/reload`);
    const ttlMs = 8 * 60 * 60 * 1000;
    const [agentToken, supervisorToken] = await Promise.all([
      mintAgentToken({ ...agentJwt, sub: 'ada', role: 'agent', ttlMs }),
      mintAgentToken({ ...agentJwt, sub: 'sam', role: 'supervisor', ttlMs }),
    ]);
    process.stdout.write(`Agent token (ada, agent, 8 h): ${agentToken}\nSupervisor token (sam, supervisor, 8 h): ${supervisorToken}\n`);
    process.stdout.write(`Widget key (site demo): ${widgetKey} — a visitor: curl -s -X POST -H 'X-Widget-Key: ${widgetKey}' ${url}/v1/widget/sessions\n`);
    // Two terminals, two lines: a visitor types to start a conversation, agent ada takes it.
    const ws = `ws://127.0.0.1:${port}/v1/ws`;
    process.stdout.write(`Chat as a visitor: node scripts/chat.ts --url ${ws} --widget-key ${widgetKey}\n`);
    process.stdout.write(`Chat as agent ada: node scripts/chat.ts --url ${ws} --token ${agentToken} --next\n\n`);
    say(`agent directory: curl -s -H 'X-Api-Key: ${adminKey}' ${url}/v1/admin/agents`);
    // The demo agents' groups and skills, also over a directory kept from an earlier demo (the seed writes only agents it lacks).
    if (!process.env.OMNIGATE_AGENTS_FILE && !process.env.OMNIGATE_AGENTS) {
      for (const { id, ...profile } of demoAgents) {
        await fetch(`${url}/v1/admin/agents/${id}`, { method: 'PUT', headers: { 'x-api-key': adminKey, 'content-type': 'application/json' }, body: JSON.stringify(profile) });
      }
    }
    process.stdout.write(`See a VIP jump the queue: node scripts/vip-demo.ts --url ${url} --widget-key ${widgetKey} --identity-secret ${identitySecret} --api-key ${apiKey}\n`);
    process.stdout.write(`Ask the bot about an order in Chinese, be handed to ada, then see the order's lineage: node scripts/bot-demo.ts --url ${url} --widget-key ${widgetKey} --identity-secret ${identitySecret} --api-key ${apiKey} --agent-token ${agentToken}\n`);
    process.stdout.write(`… or type it yourself as verified customer 42 (e.g. 我的订单到哪了, then 转人工): node scripts/chat.ts --url ${ws} --widget-key ${widgetKey} --customer 42 --identity-secret ${identitySecret}\n`);
    break;
  }
  if (Date.now() > readyBy) {
    say(`the gateway was not ready within ${readyTimeoutMs} ms (DEMO_READY_TIMEOUT_MS); its log above says why`);
    await stopAll(1);
  }
  await new Promise((r) => setTimeout(r, 200));
}
