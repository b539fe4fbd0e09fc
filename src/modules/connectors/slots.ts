import { AppError } from '../../kernel/errors.ts';
import type { ConnectorManifest } from '../../sdk/types.ts';
import { chooseRoute, isRouting, noRoute, routedConnectors, routesOf, ruleFor, type CapabilityOwners, type CapabilityRouting } from './capability-routing.ts';
import type { StoredPackage } from './package-store.ts';
import type { ConnectorEntry, ConnectorState, ConnectorVersion, Lease, Problem, RoutedEntry, RouteProblem, SharedCapability } from './registry.types.ts';

/** What the registry keeps of one connector, across its versions. */
export interface Slot {
  name: string;
  state: ConnectorState;
  active?: ConnectorVersion;
  manifest?: ConnectorManifest;
  rollbackTo?: StoredPackage;
  lastError?: Problem;
  problem?: Problem;
  restarts: number;
  /** Crashes since the worker last stayed healthy for restartResetMs: the restart backoff's exponent. */
  crashes: number;
  /** Resets `crashes` once a restarted worker has stayed healthy long enough. */
  stable?: NodeJS.Timeout;
  leases: Map<ConnectorVersion, number>;
  /** Lifecycle changes of one connector run one at a time. */
  queue: Promise<unknown>;
  retry?: NodeJS.Timeout;
  /** In the connectors folder at start: expected to serve, so a failure to load is listed and degrades readiness. */
  configured?: boolean;
}

/** The registry's table of connectors: lookup and leases, shared by its lifecycle and supervision. */
export interface Slots {
  readonly byName: Map<string, Slot>;
  /** Set once the registry closes: queued work is dropped. */
  closed: boolean;
  slotFor(name: string): Slot;
  /** Runs lifecycle work of one connector after the work queued before it. */
  serially<T>(slot: Slot, work: () => Promise<T>): Promise<T>;
  /** Still this connector's slot, and the registry still open (work queued earlier may find neither). */
  isCurrent(slot: Slot): boolean;
  /** Whether anyone should hear of it: it serves, or failed where it was expected to serve. */
  isKnown(slot: Slot): boolean;
  list(): readonly ConnectorEntry[];
  get(name: string): ConnectorEntry | undefined;
  route(capability: string, params?: Readonly<Record<string, unknown>>): ConnectorEntry | undefined;
  resolve(capability: string, params: Readonly<Record<string, unknown>>): RoutedEntry;
  sharedCapabilities(): readonly SharedCapability[];
  bySystem(system: string): ConnectorEntry | undefined;
  lease(name: string): Lease;
}

/** Timestamps of problems and loads. */
export const now = (): string => new Date().toISOString();

/**
 * An empty table; the registry fills it as connectors load. `owners` (capability → connector or
 * routing by a param) decides which connector serves a capability several declare; without an
 * owner the connector the table knew first keeps it (serving ones first), and the capability is
 * ambiguous.
 */
export function createSlots(owners: CapabilityOwners = {}): Slots {
  const byName = new Map<string, Slot>();

  const declares = (slot: Slot, capability: string): boolean => Boolean(slot.manifest?.capabilities.some((c) => c.name === capability));
  /** The connectors declaring a capability, in table order (the order they were first known). */
  const declaring = (capability: string): Slot[] => [...byName.values()].filter((s) => slots.isKnown(s) && declares(s, capability));
  const ruleOf = (capability: string, candidates: Slot[]) => ruleFor(owners, capability, candidates.map((s) => s.manifest!.system));
  /** Who serves the capability as a whole: its owner or routing's first connector declaring it, else the first serving. */
  function routeSlot(capability: string, candidates: Slot[]): Slot | undefined {
    const rule = ruleOf(capability, candidates);
    const named = isRouting(rule) ? routedConnectors(rule) : [rule];
    for (const name of named) {
      const owner = candidates.find((s) => s.name === name);
      if (owner) return owner;
    }
    return candidates.find((s) => s.active) ?? candidates[0];
  }
  /** The connector a call goes to, or the error saying why none does. */
  function select(capability: string, params: Readonly<Record<string, unknown>>): { slot: Slot; by?: string } | AppError {
    const candidates = declaring(capability);
    const rule = ruleOf(capability, candidates);
    if (!isRouting(rule)) {
      const slot = routeSlot(capability, candidates);
      return slot ? { slot } : new AppError('UNKNOWN_CAPABILITY', `no connector declares the capability ${capability}`, { capability });
    }
    const choice = chooseRoute(rule, params);
    if (!choice) return noRoute(capability, rule, params);
    const slot = byName.get(choice.connector);
    const problem = slot && slots.isKnown(slot) ? (slot.manifest && !declares(slot, capability) ? 'does not declare it' : undefined) : 'is not loaded';
    if (!slot || problem) {
      const via = choice.route === undefined ? 'by default' : `for ${rule.by} "${choice.route}"`;
      return new AppError('CONNECTOR_UNAVAILABLE', `${capability} ${via} goes to connector ${choice.connector}, which ${problem ?? 'is not loaded'}`, { connector: choice.connector, capability });
    }
    return { slot, by: rule.by };
  }
  /** The routes of a routing whose connector cannot serve the capability. */
  const routeProblems = (capability: string, routing: CapabilityRouting): RouteProblem[] =>
    routesOf(routing).flatMap(({ route, connector }) => {
      const slot = byName.get(connector);
      const reason = !slot || !slots.isKnown(slot) ? 'not_loaded' : slot.manifest && !declares(slot, capability) ? 'not_declared' : undefined;
      return reason ? [{ ...(route === undefined ? {} : { route }), connector, reason }] : [];
    });

  function entryOf(slot: Slot): ConnectorEntry {
    return {
      name: slot.name,
      state: slot.state,
      restarts: slot.restarts,
      ...(slot.active ? { active: slot.active } : {}),
      ...(slot.manifest ? { manifest: slot.manifest } : {}),
      ...(slot.rollbackTo ? { rollbackTo: slot.rollbackTo } : {}),
      ...(slot.lastError ? { lastError: slot.lastError } : {}),
      ...(slot.problem ? { problem: slot.problem } : {}),
    };
  }

  const slots: Slots = {
    byName,
    closed: false,
    slotFor(name) {
      let slot = byName.get(name);
      if (!slot) {
        slot = { name, state: 'failed', restarts: 0, crashes: 0, leases: new Map(), queue: Promise.resolve() };
        byName.set(name, slot);
      }
      return slot;
    },
    serially(slot, work) {
      const next = slot.queue.then(work, work);
      slot.queue = next.catch(() => undefined);
      return next;
    },
    isCurrent: (slot) => !slots.closed && byName.get(slot.name) === slot,
    isKnown: (slot) => Boolean(slot.active || slot.problem),

    list: () => [...byName.values()].filter(slots.isKnown).map(entryOf).sort((a, b) => a.name.localeCompare(b.name)),
    get: (name) => {
      const slot = byName.get(name);
      return slot && slots.isKnown(slot) ? entryOf(slot) : undefined;
    },
    route(capability, params) {
      if (params === undefined) {
        const slot = routeSlot(capability, declaring(capability));
        return slot ? entryOf(slot) : undefined;
      }
      const selected = select(capability, params);
      return selected instanceof AppError ? undefined : entryOf(selected.slot);
    },
    resolve(capability, params) {
      const selected = select(capability, params);
      if (selected instanceof AppError) throw selected;
      return { entry: entryOf(selected.slot), ...(selected.by === undefined ? {} : { by: selected.by }) };
    },
    sharedCapabilities() {
      const names = new Set([...byName.values()].filter(slots.isKnown).flatMap((s) => s.manifest?.capabilities.map((c) => c.name) ?? []));
      const shared: SharedCapability[] = [];
      for (const capability of [...names].sort()) {
        const candidates = declaring(capability);
        const rule = ruleOf(capability, candidates);
        const connectors = candidates.map((s) => s.name).sort();
        const servedBy = routeSlot(capability, candidates)!.name;
        if (isRouting(rule)) {
          const problems = routeProblems(capability, rule);
          shared.push({ capability, connectors, servedBy, routing: rule, ...(problems.length > 0 ? { routeProblems: problems } : {}), ambiguous: false });
          continue;
        }
        if (candidates.length < 2) continue;
        const owned = rule !== undefined && candidates.some((s) => s.name === rule);
        shared.push({ capability, connectors, servedBy, ...(owned ? { owner: rule } : {}), ambiguous: !owned });
      }
      return shared;
    },
    bySystem(system) {
      const matching = [...byName.values()].filter((s) => s.manifest?.system === system);
      // The system's owner (`system:<system>`), or its routing's default: the proxy has no params to route by.
      const rule = owners[`system:${system}`];
      const owner = isRouting(rule) ? rule.default : rule;
      const slot = matching.find((s) => s.name === owner && slots.isKnown(s)) ?? matching.find((s) => s.active) ?? matching[0];
      return slot ? entryOf(slot) : undefined;
    },

    lease(name) {
      const slot = byName.get(name);
      const version = slot?.active;
      if (!slot || !version) {
        throw notServing(name, slot?.problem, 'unknown connector');
      }
      slot.leases.set(version, (slot.leases.get(version) ?? 0) + 1);
      let released = false;
      return {
        version,
        release() {
          if (released) return;
          released = true;
          const left = (slot.leases.get(version) ?? 1) - 1;
          if (left > 0) slot.leases.set(version, left);
          else slot.leases.delete(version);
        },
      };
    },
  };
  return slots;
}

/**
 * Why a connector serves nothing. Missing or invalid settings (stage `config`) are not retryable:
 * no retry sets them, an operator must. Anything else may pass (a backend coming back, a recheck).
 */
export function notServing(name: string, problem: { stage: string; message: string } | undefined, fallback: string): AppError {
  if (problem?.stage === 'config') return new AppError('CONNECTOR_NOT_CONFIGURED', `connector ${name} is not configured: ${problem.message}`, { connector: name, stage: 'config' });
  return new AppError('CONNECTOR_UNAVAILABLE', `connector ${name} is not loaded: ${problem?.message ?? fallback}`, { connector: name });
}
