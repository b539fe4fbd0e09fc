import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { startRedis, type RunningRedis } from '../../scripts/lib/redis.ts';
import type { AgentProfile } from '../../src/config/identity-config.ts';
import type { RoutingRules } from '../../src/modules/dispatch/routing.types.ts';
import { customerHmac } from '../../src/modules/identity/widget-keys.ts';
import { CHAT_ENV, CHAT_ORIGIN, CHAT_SITE, WIDGET_KEY } from './chat-principals.ts';
import { chatNodeEnv } from './chat-nodes.ts';
import { ROOT_DIR } from './gateway.ts';
import { gatewayProcesses, type GatewayProcess, type GatewayProcessOptions } from './gateway-process.ts';
import { freePort } from './ports.ts';

/** The site's identity-verification key: a verified visitor's session carries the HMAC of its customer id under it. */
export const DISPATCH_IDENTITY_SECRET = 'dispatch-identity-secret-0123456789';
/** The admin key of dispatch test nodes (routing rules, agent directory). */
export const DISPATCH_ADMIN_KEY = 'dispatch-admin-key-0123456789abcdef';

/** Dispatch timers of a test: short, so offers expire and sweeps run within a test's time. */
export interface DispatchTimers {
  readonly offerTimeoutMs: number;
  readonly sweepIntervalMs: number;
  readonly maxMisses: number;
  readonly unconfirmedAfterMs: number;
  readonly factsTimeoutMs: number;
}

export const FAST_DISPATCH: DispatchTimers = { offerTimeoutMs: 3_000, sweepIntervalMs: 50, maxMisses: 2, unconfirmedAfterMs: 300, factsTimeoutMs: 400 };

/**
 * The environment of a gateway node that routes (`OMNIGATE_DISPATCH=routing`): the chat
 * settings of several-node tests, a widget key that can verify customers, the agents and rules
 * given, and dispatch timers in ms.
 */
export function dispatchEnv(options: { redisUrl: string; rulesFile: string; agents: readonly AgentProfile[]; timers?: DispatchTimers; over?: Record<string, string | undefined> }): Record<string, string | undefined> {
  const t = options.timers ?? FAST_DISPATCH;
  return chatNodeEnv({
    ...CHAT_ENV,
    REDIS_URL: options.redisUrl,
    OMNIGATE_ADMIN_KEYS: `ops:${DISPATCH_ADMIN_KEY}`,
    OMNIGATE_WIDGET_KEYS: JSON.stringify([{ name: CHAT_SITE, key: WIDGET_KEY, origins: [CHAT_ORIGIN], identitySecret: DISPATCH_IDENTITY_SECRET }]),
    OMNIGATE_AGENTS: JSON.stringify(options.agents),
    // Nobody answers in these tests: the chat's own timers must not requeue or close anything meanwhile.
    OMNIGATE_CHAT_AGENT_ANSWER_MS: '3600000', OMNIGATE_CHAT_VISITOR_IDLE_MS: '3600000',
    // Hundreds of sockets in one test process on a loaded host answer pings late: seconds, not 200 ms
    // (a killed node's agents reconnect to another at once; their old presence lapses within 15 s).
    OMNIGATE_WS_HEARTBEAT_MS: '5000', OMNIGATE_WS_PRESENCE_TTL_MS: '15000',
    OMNIGATE_DISPATCH: 'routing',
    OMNIGATE_ROUTING_RULES_FILE: options.rulesFile,
    OMNIGATE_DISPATCH_OFFER_TIMEOUT_MS: String(t.offerTimeoutMs),
    OMNIGATE_DISPATCH_SWEEP_INTERVAL_MS: String(t.sweepIntervalMs),
    OMNIGATE_DISPATCH_MAX_MISSES: String(t.maxMisses),
    OMNIGATE_DISPATCH_UNCONFIRMED_AFTER_MS: String(t.unconfirmedAfterMs),
    OMNIGATE_DISPATCH_FACTS_TIMEOUT_MS: String(t.factsTimeoutMs),
    OMNIGATE_DISPATCH_POSITION_INTERVAL_MS: '200',
    // A conversation whose node died while routing it is routed again by another within a second or two.
    OMNIGATE_DISPATCH_RECOVER_INTERVAL_MS: '500',
    ...options.over,
  });
}

/**
 * A dispatch test's world: its own durable Redis (so its routing rules, agent directory and
 * queues meet no other suite's, and it can be restarted), a rules file, and gateway processes on
 * them (with the run's shared cache Redis, Kafka and backends). Everything ends after the file.
 */
export interface DispatchWorld {
  readonly redis: RunningRedis;
  readonly rulesFile: string;
  readonly nodes: readonly GatewayProcess[];
  /** Starts a node on this world's Redis with `dispatchEnv` (plus `env`). */
  start(name: string, options?: { env?: Record<string, string | undefined>; nodeId?: string; port?: number; readyTimeoutMs?: number }): Promise<GatewayProcess>;
  /** Stops this world's Redis (SIGTERM: it writes its append-only file) and starts it again on the same port and data. */
  restartRedis(): Promise<void>;
}

/**
 * Call at the top of a test file (it registers the file's `after` hook, which stops everything):
 * the Redis starts with the first node.
 */
export function dispatchWorld(options: { name: string; rules: RoutingRules; agents: readonly AgentProfile[]; timers?: DispatchTimers; /** More environment for every node. */ env?: Record<string, string | undefined> }): DispatchWorld {
  const dir = join(ROOT_DIR, '.data', `test-dispatch-${options.name}-${process.pid}`);
  const rulesFile = join(dir, 'routing-rules.json');
  let port = 0;
  let redis: RunningRedis | undefined;
  let starting: Promise<RunningRedis> | undefined;
  const processes = gatewayProcesses();
  const started = (): Promise<RunningRedis> => (starting ??= (async () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(rulesFile, JSON.stringify(options.rules, null, 1));
    port = await freePort();
    return (redis = await startRedis({ port, dir: join(dir, 'redis'), role: 'durable' }));
  })());
  after(async () => {
    // The nodes first (hooks of a file do not wait for each other): a node whose Redis went first would log errors, not stop.
    await Promise.all(processes.all.map(async (node) => {
      const timer = setTimeout(() => node.child.kill('SIGKILL'), 10_000);
      await node.stop();
      clearTimeout(timer);
    }));
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get redis() {
      if (redis === undefined) throw new Error('the dispatch world\'s Redis starts with its first node');
      return redis;
    },
    rulesFile,
    get nodes() {
      return processes.all;
    },
    async start(name, o = {}) {
      const env = { ...dispatchEnv({ redisUrl: (await started()).url, rulesFile, agents: options.agents, ...(options.timers ? { timers: options.timers } : {}) }), ...options.env, ...o.env };
      const start: GatewayProcessOptions = { name, env, ...(o.nodeId ? { nodeId: o.nodeId } : {}), ...(o.port ? { port: o.port } : {}), ...(o.readyTimeoutMs ? { readyTimeoutMs: o.readyTimeoutMs } : {}) };
      return processes.start(start);
    },
    async restartRedis() {
      await (await started()).stop();
      redis = await startRedis({ port, dir: join(dir, 'redis'), role: 'durable' });
    },
  };
}

/** A customer of the seed data (the CRM's records), by tier. */
export function seedCustomers(tier: 'vip' | 'gold' | 'standard', count: number, skip = 0): string[] {
  const all = JSON.parse(readFileSync(join(ROOT_DIR, '.data/seed/crm-customers.json'), 'utf8')) as { id: number; tier: string }[];
  const found = all.filter((c) => c.tier === tier).slice(skip, skip + count).map((c) => String(c.id));
  if (found.length < count) throw new Error(`the seed has ${found.length} ${tier} customers after ${skip}, not ${count} (run scripts/install.sh)`);
  return found;
}

/** The HMAC a site's server puts in a widget session to vouch for a customer id. */
export const vouchFor = (customerId: string): string => customerHmac(DISPATCH_IDENTITY_SECRET, customerId);
