// npm links workspaces into node_modules but never the root package itself. Connectors import
// the SDK as `omnigate/sdk`, as they would from a published package: link the root in by name,
// and its bin (omnigate-connector, what a connector's `npm test` runs) into node_modules/.bin.
import { lstatSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Creates `link` → `target` (relative to the link's folder) unless something is there already. */
function ensureLink(link, target, type) {
  try {
    lstatSync(link);
  } catch {
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(target, link, type);
  }
}

ensureLink(join(root, 'node_modules', 'omnigate'), '..', 'dir');
ensureLink(join(root, 'node_modules', '.bin', 'omnigate-connector'), '../../src/sdk/testing/cli.ts', 'file');
