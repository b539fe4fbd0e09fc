import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { x as extract } from 'tar';

/** One immutable copy of a connector package, which a version is loaded from and rolled back to. */
export interface StoredPackage {
  readonly dir: string;
  /** package.json `version`. */
  readonly version: string;
  /** package.json `name`, if it has one. */
  readonly name?: string;
  /** Content digest of the package, so two loads of the same code share one copy. */
  readonly digest: string;
  /** The file to import (package.json `main`). */
  readonly entry: string;
}

const SKIPPED = new Set(['node_modules', '.git']);

/**
 * Keeps every connector version the gateway loads as an immutable copy under `root`
 * (`<root>/<name>/<version>-<digest>/`), so that a rollback never depends on what a folder
 * holds now. `root` must sit below the gateway's own folder, so `omnigate/sdk` resolves.
 */
export function createPackageStore(root: string) {
  mkdirSync(root, { recursive: true });

  function describe(dir: string): { version: string; entry: string; name: unknown } {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: unknown; main?: unknown; name?: unknown };
    return { version: typeof pkg.version === 'string' ? pkg.version : '0.0.0', entry: typeof pkg.main === 'string' ? pkg.main : 'src/index.ts', name: pkg.name };
  }

  function digestOf(dir: string): string {
    const hash = createHash('sha256');
    const walk = (at: string): void => {
      for (const name of readdirSync(at).sort()) {
        if (SKIPPED.has(name)) continue;
        const path = join(at, name);
        if (statSync(path).isDirectory()) walk(path);
        else hash.update(relative(dir, path)).update('\0').update(readFileSync(path)).update('\0');
      }
    };
    walk(dir);
    return hash.digest('hex').slice(0, 12);
  }

  /** Moves (or copies) a package folder into the store; an identical one is reused. */
  function keep(name: string, source: string, move: boolean): StoredPackage {
    const { version, entry, name: packageName } = describe(source);
    const digest = digestOf(source);
    const dir = join(root, name, `${version}-${digest}`);
    if (!existsSync(dir)) {
      mkdirSync(join(root, name), { recursive: true });
      if (move) renameSync(source, dir);
      else cpSync(source, dir, { recursive: true, filter: (path) => !SKIPPED.has(path.split('/').pop() ?? '') });
    } else if (move) {
      rmSync(source, { recursive: true, force: true });
    }
    return { dir, version, digest, entry, ...(typeof packageName === 'string' ? { name: packageName } : {}) };
  }

  return {
    /** Snapshots a connector folder (e.g. connectors/orders-java). */
    fromFolder(name: string, folder: string): StoredPackage {
      // A connector folder may be a link: keep the code it points to, not the link.
      return keep(name, realpathSync(folder), false);
    },
    /** Unpacks an `npm pack` tarball (gzip; files under `package/`) into the store. */
    async fromTarball(name: string, tarball: Buffer): Promise<StoredPackage> {
      const staging = mkdtempSync(join(root, '.upload-'));
      try {
        await pipeline(Readable.from(tarball), extract({ cwd: staging, strip: 1, strict: true, filter: (path) => !path.includes('..') }));
        if (!existsSync(join(staging, 'package.json'))) throw new Error('the tarball has no package/package.json (make it with npm pack)');
        return keep(name, staging, true);
      } finally {
        rmSync(staging, { recursive: true, force: true });
      }
    },
  };
}

export type PackageStore = ReturnType<typeof createPackageStore>;
