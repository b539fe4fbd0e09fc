import { businessKeyProblems } from './business-key-path.ts';
import type { Connector, ConnectorDefinition } from './types.ts';

const BRAND = Symbol.for('omnigate.connector');

/**
 * Declares a connector. Checks that every declared capability has exactly one operation of the
 * right kind, no operation is undeclared and every declared business key is well-formed, with one
 * precise error per problem.
 */
export function defineConnector<Config>(definition: ConnectorDefinition<Config>): Connector<Config> {
  const { manifest } = definition;
  const queries = definition.queries;
  const commands = definition.commands ?? {};
  const problems: string[] = [];
  for (const capability of manifest.capabilities) {
    const table = capability.kind === 'query' ? queries : commands;
    if (typeof table[capability.name] !== 'function') {
      problems.push(`capability ${capability.name} (${capability.kind}) has no operation in ${capability.kind === 'query' ? 'queries' : 'commands'}`);
    }
    problems.push(...businessKeyProblems(capability));
  }
  const declared = new Set(manifest.capabilities.map((c) => c.name));
  for (const name of [...Object.keys(queries), ...Object.keys(commands)]) {
    if (!declared.has(name as `${string}.${string}`)) problems.push(`operation ${name} is not declared in manifest.capabilities`);
  }
  const emits = manifest.events?.types ?? [];
  if ((definition.webhook || definition.poll) && emits.length === 0) problems.push('webhook() or poll() needs manifest.events.types');
  if (emits.length > 0 && !definition.webhook && !definition.poll) problems.push('manifest.events.types needs webhook() or poll()');
  if (problems.length > 0) {
    throw new TypeError(`connector ${manifest.name}: ${problems.join('; ')}`);
  }

  const connector: Connector<Config> = {
    manifest,
    auth: (ctx) => definition.auth(ctx),
    query: (capability, params, ctx) => run(queries, capability, params, ctx),
    execute: (capability, params, ctx) => run(commands, capability, params, ctx),
    health: (ctx) => definition.health(ctx),
    ...(definition.webhook ? { webhook: definition.webhook.bind(definition) } : {}),
    ...(definition.poll ? { poll: definition.poll.bind(definition) } : {}),
    close: async () => {
      await definition.close?.();
    },
  };
  return Object.defineProperty(connector, BRAND, { value: true });

  function run(table: ConnectorDefinition<Config>['queries'], capability: string, ...args: Parameters<Connector<Config>['query']> extends [string, ...infer R] ? R : never) {
    const operation = table[capability];
    if (operation === undefined) return Promise.reject(new TypeError(`connector ${manifest.name} has no operation ${capability}`));
    return operation(...args);
  }
}

/** True for a value made by `defineConnector` (of any copy of the SDK). */
export function isConnector(value: unknown): value is Connector {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}
