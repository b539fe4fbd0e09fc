import type { CapabilityOwner, CapabilityOwners, CapabilityRouting } from '../../config/capability-owners-config.ts';
import { AppError } from '../../kernel/errors.ts';

export { isRouting } from '../../config/capability-owners-config.ts';
export type { CapabilityOwner, CapabilityOwners, CapabilityRouting } from '../../config/capability-owners-config.ts';

/** Where a call goes under a routing: the route its value names (`route`), or the default (no `route`). */
export interface RouteChoice {
  readonly connector: string;
  readonly route?: string;
}

/**
 * The rule for a capability: its own entry in `OMNIGATE_CAPABILITY_OWNERS`, else that of the first
 * system (`system:<name>`), among the systems of the connectors declaring it, that has one.
 */
export function ruleFor(owners: CapabilityOwners, capability: string, systems: readonly string[]): CapabilityOwner | undefined {
  if (Object.hasOwn(owners, capability)) return owners[capability];
  for (const system of systems) if (Object.hasOwn(owners, `system:${system}`)) return owners[`system:${system}`];
  return undefined;
}

/** The routing param's value in a call's params, as text: a string or a finite number; anything else is no value. */
export function routeValue(routing: CapabilityRouting, params: Readonly<Record<string, unknown>>): string | undefined {
  const value = params[routing.by];
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** The route a call's params pick, the default when its value has no route (or it has none), or undefined without a default. */
export function chooseRoute(routing: CapabilityRouting, params: Readonly<Record<string, unknown>>): RouteChoice | undefined {
  const value = routeValue(routing, params);
  if (value !== undefined && Object.hasOwn(routing.routes, value)) return { connector: routing.routes[value]!, route: value };
  return routing.default === undefined ? undefined : { connector: routing.default };
}

/** The connectors a routing names, each once: the default first, then the routes' in their order. */
export function routedConnectors(routing: CapabilityRouting): string[] {
  return [...new Set([...(routing.default === undefined ? [] : [routing.default]), ...Object.values(routing.routes)])];
}

/** Each route (and the default, with no `route`) with the connector it names. */
export function routesOf(routing: CapabilityRouting): { route?: string; connector: string }[] {
  return [...Object.entries(routing.routes).map(([route, connector]) => ({ route, connector })), ...(routing.default === undefined ? [] : [{ connector: routing.default }])];
}

/** NO_ROUTE: the call's params pick no route and the routing has no default; names the param and the values it knows. */
export function noRoute(capability: string, routing: CapabilityRouting, params: Readonly<Record<string, unknown>>): AppError {
  const known = Object.keys(routing.routes);
  const value = routeValue(routing, params);
  const said = value === undefined ? `needs the param ${routing.by}` : `has no route for ${routing.by} "${value}"`;
  return new AppError('NO_ROUTE', `${capability} is routed by ${routing.by} and ${said}: one of ${known.join(', ')} (there is no default)`, {
    capability,
    param: routing.by,
    known,
  });
}
