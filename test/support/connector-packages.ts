import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { c as createTar } from 'tar';
import { connectorEnv } from '../../scripts/lib/backends.ts';
import { ROOT_DIR } from './gateway.ts';
import { TEST_URLS } from './ports.ts';

/** A scratch folder below the repository (so `omnigate/sdk` resolves for what is put there). */
export function scratchDir(name: string): string {
  const dir = join(ROOT_DIR, '.data', `${name}-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Copies a connector of connectors/ to `dir/name`, with its manifest and package version set to `version`. */
export function copyConnector(from: string, dir: string, version: string, edit: (source: string) => string = (s) => s): string {
  const target = join(dir, from);
  rmSync(target, { recursive: true, force: true });
  cpSync(join(ROOT_DIR, 'connectors', from), target, { recursive: true });
  setVersion(target, version, edit);
  return target;
}

/** Rewrites the version in package.json and in the manifest of src/index.ts. */
export function setVersion(folder: string, version: string, edit: (source: string) => string = (s) => s): void {
  const pkgPath = join(folder, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string };
  pkg.version = version;
  writeFileSync(pkgPath, JSON.stringify(pkg, null, 2));
  const indexPath = join(folder, 'src/index.ts');
  writeFileSync(indexPath, edit(readFileSync(indexPath, 'utf8').replace(/version: '[^']+'/, `version: '${version}'`)));
}

/** Names a copied connector's package after the connector `name`, as an install checks (`@omnigate/connector-<name>`). */
export function namePackage(folder: string, name: string): string {
  const pkgPath = join(folder, 'package.json');
  writeFileSync(pkgPath, JSON.stringify({ ...(JSON.parse(readFileSync(pkgPath, 'utf8')) as object), name: `@omnigate/connector-${name}` }, null, 2));
  return folder;
}

/** `npm pack`-shaped tarball (files under package/) of a folder. */
export async function packTarball(folder: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = createTar({ gzip: true, cwd: folder, prefix: 'package/', portable: true }, ['.']);
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * The test run's settings of a sample connector, named for a renamed copy of it:
 * `settingsAs('crm-python', 'crm-eu')` → `OMNIGATE_CONNECTOR_CRM_EU_BASE_URL` … (the same backend).
 */
export function settingsAs(from: string, to: string): Record<string, string> {
  const prefix = (name: string) => `OMNIGATE_CONNECTOR_${name.toUpperCase().replace(/-/g, '_')}_`;
  return Object.fromEntries(Object.entries(connectorEnv(TEST_URLS)).filter(([k]) => k.startsWith(prefix(from))).map(([k, v]) => [prefix(to) + k.slice(prefix(from).length), v]));
}
