import { AppError } from '../../kernel/errors.ts';
import type { ConnectorManifest } from '../../sdk/types.ts';
import type { StoredPackage } from './package-store.ts';
import type { ConnectorEntry, ConnectorState, ConnectorVersion, Lease, Problem, SharedCapability } from './registry.types.ts';

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
  route(capability: string): ConnectorEntry | undefined;
  sharedCapabilities(): readonly SharedCapability[];
  bySystem(system: string): ConnectorEntry | undefined;
  lease(name: string): Lease;
}

/** Timestamps of problems and loads. */
export const now = (): string => new Date().toISOString();

/**
 * An empty table; the registry fills it as connectors load. `owners` (capability → connector)
 * decides which connector serves a capability several declare; without an owner the connector
 * the table knew first keeps it (serving ones first), and the capability is ambiguous.
 */
export function createSlots(owners: Readonly<Record<string, string>> = {}): Slots {
  const byName = new Map<string, Slot>();

  /** The connectors declaring a capability, in table order (the order they were first known). */
  const declaring = (capability: string): Slot[] => [...byName.values()].filter((s) => slots.isKnown(s) && s.manifest?.capabilities.some((c) => c.name === capability));
  function routeSlot(capability: string, candidates: Slot[]): Slot | undefined {
    const owner = owners[capability];
    return candidates.find((s) => s.name === owner) ?? candidates.find((s) => s.active) ?? candidates[0];
  }

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
    route(capability) {
      const slot = routeSlot(capability, declaring(capability));
      return slot ? entryOf(slot) : undefined;
    },
    sharedCapabilities() {
      const names = new Set([...byName.values()].filter(slots.isKnown).flatMap((s) => s.manifest?.capabilities.map((c) => c.name) ?? []));
      const shared: SharedCapability[] = [];
      for (const capability of [...names].sort()) {
        const candidates = declaring(capability);
        if (candidates.length < 2) continue;
        const owner = owners[capability];
        const owned = owner !== undefined && candidates.some((s) => s.name === owner);
        shared.push({
          capability,
          connectors: candidates.map((s) => s.name).sort(),
          servedBy: routeSlot(capability, candidates)!.name,
          ...(owned ? { owner } : {}),
          ambiguous: !owned,
        });
      }
      return shared;
    },
    bySystem(system) {
      const matching = [...byName.values()].filter((s) => s.manifest?.system === system);
      const slot = matching.find((s) => s.active) ?? matching[0];
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
