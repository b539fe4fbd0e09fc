// The gateway's chat settings for the benches and the credentials bench sockets use: visitors
// open a widget session each (POST /v1/widget/sessions) and carry its token in the subprotocol
// list, as a browser must; agents carry a JWT minted from the bench's own secret.
import { args } from './args.ts';
import type { Credentials } from './chat-auth.ts';
import { startChatKafka, type Run, type ServerProcess } from './chat-stack.ts';

const AGENT_JWT = { issuer: 'omnigate-bench', audience: 'omnigate', secret: 'bench-agent-jwt-secret-0123456789abcdef' } as const;
const WIDGET = { name: 'bench-site', key: 'bench-widget-key-0123456789', origin: 'http://bench.example' } as const;

/**
 * A gateway node's chat environment: the identity settings, and limits that would refuse the
 * benches' own load (every visitor comes from one of a few loopback addresses and one site: the
 * per-IP and per-site limits on sessions and new conversations are meant for the open internet).
 */
export function chatGatewayEnv(redis: { REDIS_URL: string; REDIS_CACHE_URL: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...redis,
    OMNIGATE_AGENT_JWT_ISSUER: AGENT_JWT.issuer,
    OMNIGATE_AGENT_JWT_AUDIENCE: AGENT_JWT.audience,
    OMNIGATE_AGENT_JWT_SECRET: AGENT_JWT.secret,
    OMNIGATE_VISITOR_TOKEN_SECRET: 'bench-visitor-token-secret-0123456789abcdef',
    OMNIGATE_WIDGET_KEYS: JSON.stringify([{ name: WIDGET.name, key: WIDGET.key, origins: [WIDGET.origin] }]),
    OMNIGATE_WIDGET_SESSIONS_PER_IP: '100000000',
    OMNIGATE_WIDGET_SESSIONS_PER_SITE: '100000000',
    OMNIGATE_CONVERSATION_STARTS_PER_IP: '100000000',
    OMNIGATE_CONVERSATION_STARTS_PER_SITE: '100000000',
    ...extra,
  };
}

/** What an agent's or a visitor's socket authenticates with on `node`. */
export async function chatAuth(node: ServerProcess, role: 'agent' | 'visitor'): Promise<Credentials> {
  if (role === 'agent') return { kind: 'agentJwt', ...AGENT_JWT };
  return { kind: 'widget', httpUrl: node.httpUrl, widgetKey: WIDGET.key, origin: WIDGET.origin };
}

/**
 * KAFKA_BROKERS of a Kafka started for the run, as in production; `--no-kafka` leaves it out, and
 * the gateway then relays its outbox to the in-process bus, which keeps every event in memory
 * (a development bus): memory per socket and CPU per message are then not production's.
 */
export async function kafkaEnv(run: Run, rootDir: string, say: (line: string) => void): Promise<Record<string, string>> {
  if (args.bool('no-kafka')) return {};
  say('starting kafka…');
  const kafka = await startChatKafka(run, rootDir);
  return { KAFKA_BROKERS: kafka.brokers.join(',') };
}
