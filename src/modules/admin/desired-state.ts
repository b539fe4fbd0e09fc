import type { Logger } from '../../kernel/logger.ts';
import type { BlobStore } from '../../ports/blob-store.ts';
import type { RecordStore } from '../../ports/record-store.ts';
import type { LifecycleCommand } from '../connectors/lifecycle.ts';
import type { LifecycleOutcome } from '../connectors/registry.ts';

export const PACKAGE_TTL_S = 24 * 60 * 60;
export const packageKey = (digest: string) => `omnigate:package:${digest}`;
const COLLECTION = 'omnigate:cluster:desired';
const INDEX = 'omnigate:cluster:desired:connectors';

/** An installed version and the tarball (sha256, a blob under packageKey) it came from. */
interface Installed {
  readonly version: string;
  readonly package: string;
}

/**
 * What the cluster wants of one connector, as the last cluster-wide change left it. No record:
 * each node serves what its own folder holds (never changed cluster-wide, or reloaded since).
 */
export type DesiredState =
  | ({ readonly connector: string; readonly state: 'installed'; /** What a rollback returns to, when it was installed too. */ readonly previous?: Installed } & Installed)
  | { readonly connector: string; readonly state: 'removed' };

/** The desired state of every connector changed cluster-wide, kept in the durable Redis. */
export interface DesiredStates {
  /**
   * Records what a change that took effect makes desired. An install's tarball (`digest`) is then
   * kept without expiry, while it is the desired version or what a rollback returns to; a tarball
   * that stops being either gets the lifetime of any parked package again.
   */
  changed(command: LifecycleCommand, outcome: LifecycleOutcome, digest: string | undefined): Promise<void>;
  /** Every connector's desired state. */
  all(): Promise<DesiredState[]>;
}

export function createDesiredStates(deps: { records: RecordStore; blobs: BlobStore; log: Logger }): DesiredStates {
  const { records, blobs, log } = deps;
  const kept = (state: DesiredState | undefined) => (state?.state === 'installed' ? [state.package, ...(state.previous ? [state.previous.package] : [])] : []);

  async function next(command: LifecycleCommand, outcome: LifecycleOutcome, digest: string | undefined, was: DesiredState | undefined): Promise<DesiredState | undefined> {
    const { connector } = command;
    switch (command.action) {
      case 'install': {
        if (!digest || !outcome.to) return undefined;
        const previous = was?.state === 'installed' ? { version: was.version, package: was.package } : undefined;
        // Kept before it is desired: a node reading the record finds the tarball.
        await blobs.put(packageKey(digest), command.tarball);
        return { connector, state: 'installed', version: outcome.to, package: digest, ...(previous ? { previous } : {}) };
      }
      case 'rollback':
        // Back to an installed version (and a second rollback back again); else to each node's folder.
        return was?.state === 'installed' && was.previous ? { connector, state: 'installed', ...was.previous, previous: { version: was.version, package: was.package } } : undefined;
      case 'remove':
        return { connector, state: 'removed' };
      case 'reload':
        // Each node reloads its own folder: that is what a node added later serves too.
        return undefined;
      case 'configure':
        // The config lives in its own records (runtime-config.ts): the version wanted stays.
        return was;
    }
  }

  return {
    async changed(command, outcome, digest) {
      try {
        const raw = await records.get(COLLECTION, command.connector);
        const was = raw === undefined ? undefined : (JSON.parse(raw) as DesiredState);
        const now = await next(command, outcome, digest, was);
        if (now) await records.insert(COLLECTION, command.connector, JSON.stringify(now), [INDEX]);
        else await records.delete(COLLECTION, command.connector, [INDEX]);
        for (const dropped of kept(was).filter((d) => !kept(now).includes(d))) {
          const bytes = await blobs.get(packageKey(dropped));
          if (bytes) await blobs.put(packageKey(dropped), bytes, PACKAGE_TTL_S * 1_000);
        }
      } catch (err) {
        log.error({ err, connector: command.connector, action: command.action }, 'could not record the desired state: nodes added later will not follow this change');
      }
    },
    async all() {
      const raws = await records.getMany(COLLECTION, await records.listed([INDEX]));
      return raws.map((raw) => JSON.parse(raw) as DesiredState);
    },
  };
}
