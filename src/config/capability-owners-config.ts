/** A capability's name, as a connector manifest declares it (`customer.get`). */
const CAPABILITY = /^[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*$/;
/** A connector's name, as a connector manifest declares it (`crm-python`). */
const CONNECTOR = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/**
 * `OMNIGATE_CAPABILITY_OWNERS`: which connector serves a capability that several loaded connectors
 * declare, as JSON (`{"customer.get": "crm-python"}`). Checked at start: a JSON object of
 * capability names to connector names. Absent: no owners, empty object.
 */
export function parseCapabilityOwners(env: NodeJS.ProcessEnv): { config: Readonly<Record<string, string>>; problems?: never } | { config?: never; problems: string[] } {
  const text = env.OMNIGATE_CAPABILITY_OWNERS;
  if (text === undefined || text.trim() === '') return { config: Object.freeze({}) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { problems: ['OMNIGATE_CAPABILITY_OWNERS must be JSON: an object of capability names to connector names ({"customer.get": "crm-python"})'] };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { problems: ['OMNIGATE_CAPABILITY_OWNERS must be a JSON object of capability names to connector names ({"customer.get": "crm-python"})'] };
  }
  const problems: string[] = [];
  const owners: Record<string, string> = {};
  for (const [capability, owner] of Object.entries(parsed)) {
    if (!CAPABILITY.test(capability)) problems.push(`OMNIGATE_CAPABILITY_OWNERS: "${capability}" is not a capability name (like customer.get)`);
    else if (typeof owner !== 'string' || !CONNECTOR.test(owner)) problems.push(`OMNIGATE_CAPABILITY_OWNERS: the owner of ${capability} must be a connector name (like crm-python)`);
    else owners[capability] = owner;
  }
  return problems.length > 0 ? { problems } : { config: Object.freeze(owners) };
}
