// `npm run connector:new -- <name> [--dir <connectorsDir>]`: generates a working connector package
// from templates/connector/ (see docs/connector-guide.md). Exit 2: bad usage or name; 1: refused.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TEMPLATE_DIR = join(ROOT_DIR, 'templates/connector');
const TEMPLATE_SUFFIX = '.tmpl';
/** The registry's manifest name pattern: kebab-case, starting with a letter. */
const NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const MAX_NAME_LENGTH = 50;
/** The SDK version a generated connector develops against: this repository's. */
const ROOT_PACKAGE = JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
const OMNIGATE_VERSION = ROOT_PACKAGE.version;
/** Pact, for `npm run contract`: the range this repository's own contract tests use. */
const PACT_VERSION = ROOT_PACKAGE.devDependencies['@pact-foundation/pact'] ?? '*';
const USAGE = 'usage: npm run connector:new -- <name> [--dir <connectorsDir>]   (name in kebab-case, e.g. billing-sap)';

/** A refusal the user can fix; `exitCode` 2 for usage, 1 for a clash. */
class Refusal extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Every spelling of the name a template uses. */
interface Names {
  readonly name: string;
  readonly camelName: string;
  readonly PascalName: string;
  readonly ENV_NAME: string;
}

function namesFor(name: string): Names {
  const words = name.split('-');
  const camelName = words.map((w, i) => (i === 0 ? w : `${w[0]?.toUpperCase() ?? ''}${w.slice(1)}`)).join('');
  return { name, camelName, PascalName: `${camelName[0]?.toUpperCase() ?? ''}${camelName.slice(1)}`, ENV_NAME: words.join('_').toUpperCase() };
}

function checkName(name: string | undefined): string {
  if (name === undefined) throw new Refusal(`a connector name is needed\n${USAGE}`, 2);
  if (name.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(name)) {
    throw new Refusal(`"${name}" is not a connector name: use kebab-case (lowercase letters and digits, words joined by single hyphens, starting with a letter, at most ${MAX_NAME_LENGTH} characters), e.g. billing-sap`, 2);
  }
  return name;
}

/** Replaces every `{{token}}`; an unknown token is a bug in the template, not a silent blank. */
function render(text: string, values: Readonly<Record<string, string>>, file: string): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_, token: string) => {
    const value = values[token];
    if (value === undefined) throw new Error(`template ${file} uses an unknown token {{${token}}}`);
    return value;
  });
}

function templateFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? templateFiles(dir, path) : entry.name.endsWith(TEMPLATE_SUFFIX) ? [path] : [];
  });
}

/** A folder of connectors/: a workspace of this repository, where the root itself provides `omnigate`. */
const isWorkspace = (target: string): boolean => relative(join(ROOT_DIR, 'connectors'), target) === basename(target);

/**
 * In a workspace the SDK is this repository (node_modules/omnigate links the root), and `omnigate`
 * is not on the npm registry: a devDependency on it would break the root's `npm install`.
 */
function withoutSdkDevDependency(packageJson: string): string {
  const { devDependencies: _sdk, ...rest } = JSON.parse(packageJson) as Record<string, unknown>;
  return `${JSON.stringify(rest, null, 2)}\n`;
}

/** Writes connectorsDir/<name>/ whole or not at all: built aside, then renamed into place. */
function scaffold(name: string, connectorsDir: string): { target: string; files: string[] } {
  const target = join(connectorsDir, name);
  if (existsSync(target)) throw new Refusal(`${relative(process.cwd(), target) || target} already exists: pick another name, or remove that folder first`, 1);
  mkdirSync(connectorsDir, { recursive: true });
  const values = { ...namesFor(name), omnigateVersion: OMNIGATE_VERSION, pactVersion: PACT_VERSION };
  // package.json last: the registry counts a folder as a connector once it has one.
  const files = templateFiles(TEMPLATE_DIR).sort((a, b) => Number(a === `package.json${TEMPLATE_SUFFIX}`) - Number(b === `package.json${TEMPLATE_SUFFIX}`));
  const staging = mkdtempSync(join(connectorsDir, `.${name}-`));
  try {
    for (const file of files) {
      const out = join(staging, file.slice(0, -TEMPLATE_SUFFIX.length));
      mkdirSync(dirname(out), { recursive: true });
      const text = render(readFileSync(join(TEMPLATE_DIR, file), 'utf8'), values, file);
      writeFileSync(out, file === `package.json${TEMPLATE_SUFFIX}` && isWorkspace(target) ? withoutSdkDevDependency(text) : text);
    }
    renameSync(staging, target);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  return { target, files: files.map((f) => f.slice(0, -TEMPLATE_SUFFIX.length)).sort() };
}

function nextSteps(names: Names, target: string, files: readonly string[]): string {
  const shown = relative(process.cwd(), target) || '.';
  const env = `OMNIGATE_CONNECTOR_${names.ENV_NAME}`;
  const outside = relative(ROOT_DIR, target).startsWith('..');
  const tarball = `omnigate-connector-${names.name}-0.1.0.tgz`;
  const steps: string[][] = [
    outside
      ? [`Get the SDK: in an omnigate clone run npm run sdk:pack, then in ${shown}: npm install -D <path to .packs/omnigate-${OMNIGATE_VERSION}.tgz>`]
      : [`The SDK is this repository: omnigate/sdk and omnigate/sdk/testing resolve from ${shown} as they are.`],
    ['Replace the sample contacts API with yours: src/fixtures/ (a recorded reply), src/mappers/, src/operations/, src/index.ts,', '   and the sample params in test/conformance.test.ts (an id your backend has, one it has not).'],
    [`Run its mapper test:              node --test ${shown}/src/mappers/to-customer.test.ts`],
    ...(isWorkspace(target) ? [['Record the new workspace:         npm install']] : []),
    [`Point it at your backend:         export ${env}_BASE_URL=https://…  ${env}_API_KEY=…`, `   then, in ${shown}: npm test   (its unit tests and the conformance suite; faults come from the kit's proxy)`],
    [`Record and verify its contract:   in ${shown}: npm run contract   (writes contracts/, replays it against the backend)`],
    outside
      ? [
        `Install it into a running gateway: npm pack --pack-destination <a folder outside ${shown}>, then`,
        `   curl -X PUT -H "X-Api-Key: <admin key>" -H 'Content-Type: application/gzip' --data-binary @<that folder>/${tarball} http://127.0.0.1:8080/v1/admin/connectors/${names.name}`,
        `   and configure it without a restart: curl -X PUT -H "X-Api-Key: <admin key>" -H 'Content-Type: application/json' \\`,
        `   -d '{"config":{"baseUrl":"https://…","apiKey":{"fromEnv":"MY_API_KEY"}}}' http://127.0.0.1:8080/v1/admin/connectors/${names.name}/config`,
      ]
      : [`Load it into a running gateway:   curl -X POST -H "X-Api-Key: <admin key>" http://127.0.0.1:8080/v1/admin/connectors/${names.name}/reload`, '   (admin keys come from OMNIGATE_ADMIN_KEYS; or restart the gateway)'],
  ];
  return [
    `Created ${shown}/ (@omnigate/connector-${names.name} 0.1.0, capability contact.get → Customer):`,
    ...files.map((f) => `  ${f}`),
    '',
    'Next steps:',
    ...steps.flatMap(([first, ...more], i) => [`  ${i + 1}. ${first ?? ''}`, ...more.map((line) => `  ${line}`)]),
  ].join('\n');
}

function main(argv: readonly string[]): number {
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: [...argv], allowPositionals: true, options: { dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
    } catch (err) {
      throw new Refusal(`${(err as Error).message}\n${USAGE}`, 2);
    }
    if (parsed.values.help) {
      console.log(USAGE);
      return 0;
    }
    if (parsed.positionals.length > 1) throw new Refusal(`one name at a time, got ${parsed.positionals.join(' ')}\n${USAGE}`, 2);
    const name = checkName(parsed.positionals[0]);
    const connectorsDir = resolve(parsed.values.dir ?? join(ROOT_DIR, 'connectors'));
    const { target, files } = scaffold(name, connectorsDir);
    console.log(nextSteps(namesFor(name), target, files));
    return 0;
  } catch (err) {
    if (err instanceof Refusal) {
      console.error(`connector:new: ${err.message}`);
      return err.exitCode;
    }
    throw err;
  }
}

process.exitCode = main(process.argv.slice(2));
