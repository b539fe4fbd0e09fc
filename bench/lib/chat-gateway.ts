// The gateway's chat settings for the benches and the credentials bench sockets use.
import type { Credentials } from './chat-auth.ts';
import { BENCH_API_KEY, type ServerProcess } from './chat-stack.ts';

/** A gateway node's environment for the chat benches, on top of CHAT_GATEWAY_ENV. */
export function chatGatewayEnv(redis: { REDIS_URL: string; REDIS_CACHE_URL: string }, extra: Record<string, string> = {}): Record<string, string> {
  return { ...redis, ...extra };
}

/**
 * What an agent's or a visitor's socket authenticates with. Until agent JWTs and widget sessions
 * are on main, both are the bench's service API key (a service may act for a visitor).
 */
export async function chatAuth(_node: ServerProcess, _role: 'agent' | 'visitor'): Promise<Credentials> {
  return { kind: 'apiKey', key: BENCH_API_KEY };
}
