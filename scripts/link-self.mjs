// npm links workspaces into node_modules but never the root package itself. Connectors import
// the SDK as `omnigate/sdk`, as they would from a published package: link the root in by name.
import { lstatSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const link = join(root, 'node_modules', 'omnigate');
try {
  lstatSync(link);
} catch {
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync('..', link, 'dir');
}
