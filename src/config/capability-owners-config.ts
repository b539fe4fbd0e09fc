/** A capability's name, as a connector manifest declares it (`customer.get`). */
const CAPABILITY = /^[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*$/;
/** A rule for every capability of a system's connectors (`system:crm`). */
const SYSTEM = /^system:[a-z][a-z0-9-]*$/;
/** A connector's name, as a connector manifest declares it (`crm-python`). */
const CONNECTOR = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
/** A param name a route reads (`region`, `tenant`). */
const PARAM = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VAR = 'OMNIGATE_CAPABILITY_OWNERS';
const EXAMPLE = '{"customer.get": "crm-python"} or {"customer.get": {"by": "region", "routes": {"eu": "crm-eu"}, "default": "crm-python"}}';

/**
 * Routing by a parameter of the call: `params[by]` names the route, whose connector serves the
 * call; a value with no route (or no value) goes to `default`, and without one the call is refused
 * (`NO_ROUTE`). `by` is a hint for the gateway: it reaches the connector only when the connector's
 * params schema declares it.
 */
export interface CapabilityRouting {
  /** The param whose value picks the route (`region`). */
  readonly by: string;
  /** Param value → connector name (`{"eu": "crm-eu", "us": "crm-us"}`). */
  readonly routes: Readonly<Record<string, string>>;
  /** The connector serving a call whose value has no route, or that has no value. */
  readonly default?: string;
}

/** Who serves a capability: one connector (its owner) or a routing by a param. */
export type CapabilityOwner = string | CapabilityRouting;

/** Capability name (or `system:<system>`, for every capability of that system's connectors) → its owner. */
export type CapabilityOwners = Readonly<Record<string, CapabilityOwner>>;

/** Whether an owner routes by a param (rather than naming one connector). */
export const isRouting = (owner: CapabilityOwner | undefined): owner is CapabilityRouting => typeof owner === 'object';

/**
 * `OMNIGATE_CAPABILITY_OWNERS`: which connector serves a capability that several loaded connectors
 * declare, as JSON: capability → connector name (`{"customer.get": "crm-python"}`), or capability →
 * routing (`{"by": "region", "routes": {"eu": "crm-eu"}, "default": "crm-python"}`). A key
 * `system:<system>` sets it for every capability of that system's connectors; a capability's own
 * entry wins. Checked at start, every problem listed. Absent: no owners, empty object.
 */
export function parseCapabilityOwners(env: NodeJS.ProcessEnv): { config: CapabilityOwners; problems?: never } | { config?: never; problems: string[] } {
  const text = env[VAR];
  if (text === undefined || text.trim() === '') return { config: Object.freeze({}) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { problems: [`${VAR} must be JSON: an object of capability names to connector names or routings (${EXAMPLE})`] };
  }
  if (!isObject(parsed)) return { problems: [`${VAR} must be a JSON object of capability names to connector names or routings (${EXAMPLE})`] };
  const problems: string[] = [];
  const owners: Record<string, CapabilityOwner> = {};
  for (const [key, owner] of Object.entries(parsed)) {
    if (!CAPABILITY.test(key) && !SYSTEM.test(key)) {
      problems.push(`${VAR}: "${key}" is not a capability name (like customer.get) or a system (like system:crm)`);
      continue;
    }
    if (isObject(owner)) {
      const routing = parseRouting(key, owner, problems);
      if (routing) owners[key] = routing;
    } else if (typeof owner !== 'string' || !CONNECTOR.test(owner)) {
      problems.push(`${VAR}: the owner of ${key} must be a connector name (like crm-python) or a routing ({"by": "region", "routes": {"eu": "crm-eu"}})`);
    } else owners[key] = owner;
  }
  return problems.length > 0 ? { problems } : { config: Object.freeze(owners) };
}

/** One routing entry, or undefined with its problems pushed. */
function parseRouting(key: string, value: Record<string, unknown>, problems: string[]): CapabilityRouting | undefined {
  const before = problems.length;
  const at = `${VAR}: the routing of ${key}`;
  for (const field of Object.keys(value)) if (!['by', 'routes', 'default'].includes(field)) problems.push(`${at} has an unknown field "${field}" (allowed: by, routes, default)`);
  const { by, routes, default: fallback } = value;
  if (typeof by !== 'string' || !PARAM.test(by)) problems.push(`${at} needs "by": the name of the param that picks the route (like "region")`);
  if (!isObject(routes) || Object.keys(routes).length === 0) problems.push(`${at} needs "routes": an object of param values to connector names (like {"eu": "crm-eu"})`);
  else {
    for (const [route, connector] of Object.entries(routes)) {
      if (route === '') problems.push(`${at}: a route value must not be empty`);
      if (typeof connector !== 'string' || !CONNECTOR.test(connector)) problems.push(`${at}: the route "${route}" must name a connector (like crm-python)`);
    }
  }
  if (fallback !== undefined && (typeof fallback !== 'string' || !CONNECTOR.test(fallback))) problems.push(`${at}: "default" must name a connector (like crm-python)`);
  if (problems.length > before) return undefined;
  return Object.freeze({
    by: by as string,
    routes: Object.freeze({ ...(routes as Record<string, string>) }),
    ...(fallback === undefined ? {} : { default: fallback as string }),
  });
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
