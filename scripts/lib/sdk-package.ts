// What `npm run sdk:pack` decides about the SDK package, apart from compiling and packing it:
// which files the SDK may pull in, which npm packages its emitted files need, its package.json
// and README. Pure functions, so that test/contract/sdk-pack.test.ts can check each refusal.
import { isBuiltin } from 'node:module';
import { relative, sep } from 'node:path';

/** The package an integrator installs: the same name as the repository's, so imports read `omnigate/sdk`. */
export const SDK_PACKAGE_NAME = 'omnigate';
/** The test kit's command line, src/sdk/testing/cli.ts. */
export const SDK_BIN_NAME = 'omnigate-connector';
/** Loaded lazily by the contract part of the kit only: an integrator installs it when they record contracts. */
export const OPTIONAL_PEERS: readonly string[] = ['@pact-foundation/pact'];

/**
 * Parts of the repository the SDK must never compile in: the gateway's config, composition and
 * app, and the repository's own tests and scripts (see KIT-CONTRACT.md).
 */
const FORBIDDEN_SOURCES: readonly { readonly path: string; readonly why: string }[] = [
  { path: 'src/config/', why: 'the gateway reads its own config there; the SDK gets config from the connector' },
  { path: 'src/gateway.ts', why: 'the gateway itself' },
  { path: 'src/app.ts', why: 'the gateway’s HTTP app' },
  { path: 'src/main.ts', why: 'the gateway’s composition root' },
  { path: 'test/', why: 'the repository’s tests' },
  { path: 'scripts/', why: 'the repository’s scripts' },
];

/** Repository-relative POSIX path. */
export function repoPath(root: string, file: string): string {
  return relative(root, file).split(sep).join('/');
}

/**
 * One line per compiled source the SDK must not contain (empty: all fine). `sources` are the
 * repository-relative paths of the program's own files (not node_modules, not lib `.d.ts`).
 */
export function forbiddenSources(sources: readonly string[]): string[] {
  const problems: string[] = [];
  for (const source of sources) {
    const rule = FORBIDDEN_SOURCES.find((r) => (r.path.endsWith('/') ? source.startsWith(r.path) : source === r.path));
    if (rule) problems.push(`${source}: ${rule.why}`);
    else if (!source.startsWith('src/')) problems.push(`${source}: outside src/, so not part of the SDK`);
  }
  return problems;
}

/** The npm package a bare import names (`ajv/dist/2020.js` → `ajv`, `@a/b/c` → `@a/b`); undefined for relative paths and Node built-ins. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || isBuiltin(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The dependency ranges of the root package.json that the SDK's ranges come from. */
export interface RootManifest {
  readonly version: string;
  readonly license?: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
}

/** The packages the emitted files import, split into dependencies and optional peers, with the root's ranges. */
export interface SdkDependencies {
  readonly dependencies: Record<string, string>;
  readonly peerDependencies: Record<string, string>;
  /** One line per import the root does not depend on: the pack fails on any. */
  readonly problems: string[];
}

/**
 * Dependencies from what the emitted files import (`imports`: file → its import specifiers):
 * each package at the root's range. A package the root lists only as a dev dependency (or not at
 * all) is a problem, except an optional peer, which is always listed at the root's range.
 */
export function sdkDependencies(imports: ReadonlyMap<string, readonly string[]>, root: RootManifest): SdkDependencies {
  const dependencies: Record<string, string> = {};
  const problems: string[] = [];
  for (const [file, specifiers] of imports) {
    for (const specifier of specifiers) {
      const name = packageOf(specifier);
      if (name === undefined || OPTIONAL_PEERS.includes(name)) continue;
      const range = root.dependencies?.[name];
      if (range === undefined) problems.push(`${file} imports '${specifier}', but ${name} is not in the dependencies of the root package.json`);
      else dependencies[name] = range;
    }
  }
  const peerDependencies: Record<string, string> = {};
  for (const name of OPTIONAL_PEERS) {
    const range = root.dependencies?.[name] ?? root.devDependencies?.[name];
    if (range === undefined) problems.push(`optional peer ${name} has no range in the root package.json`);
    else peerDependencies[name] = range;
  }
  return { dependencies: sorted(dependencies), peerDependencies, problems };
}

function sorted(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

function entry(path: string): Record<string, string> {
  return { types: `./dist/${path}.d.ts`, import: `./dist/${path}.js`, default: `./dist/${path}.js` };
}

/** The package.json of the SDK package. */
export function sdkManifest(root: RootManifest, deps: SdkDependencies): Record<string, unknown> {
  return {
    name: SDK_PACKAGE_NAME,
    version: root.version,
    description: 'The Omnigate connector SDK and test kit: defineConnector, auth helpers, mapping helpers, the canonical schemas, a fault proxy and conformance tests.',
    type: 'module',
    license: root.license ?? 'UNLICENSED',
    engines: { node: '>=24' },
    exports: { './sdk': entry('sdk/index'), './sdk/testing': entry('sdk/testing/index'), './package.json': './package.json' },
    bin: { [SDK_BIN_NAME]: 'dist/sdk/testing/cli.js' },
    files: ['dist', 'schemas', 'README.md'],
    dependencies: deps.dependencies,
    peerDependencies: deps.peerDependencies,
    peerDependenciesMeta: Object.fromEntries(Object.keys(deps.peerDependencies).map((name) => [name, { optional: true }])),
  };
}

/** The README shipped in the package. */
export function sdkReadme(version: string): string {
  return `# omnigate ${version}: the connector SDK

The packed build of Omnigate's connector SDK, made by \`npm run sdk:pack\` in an Omnigate clone.
Install it in a connector's folder: \`npm install -D <path>/omnigate-${version}.tgz\`.

- \`omnigate/sdk\`: \`defineConnector\`, the HTTP client, the auth helpers (\`apiKeyAuth\`,
  \`noAuth\`, \`hmacAuth\`, \`oauth2ClientCredentials\`), the mapping helpers and the errors a
  connector throws.
- \`omnigate/sdk/testing\`: the test kit: \`createTestContexts\`, \`configFromEnv\`,
  \`canonicalSchemas()\` (the canonical JSON Schemas in \`schemas/\`), \`startFaultProxy\`
  (down, latency, hang, error, garbage in front of any backend) and \`describeConformance\`
  (the conformance suite for one connector against its own backend).
- \`omnigate-connector\` (bin): \`omnigate-connector test\` runs the connector's tests,
  \`omnigate-connector contract\` records and verifies its Pact contract (install
  \`@pact-foundation/pact\` for that part).

JavaScript with type declarations (\`.d.ts\`); TypeScript users also need \`@types/node\`.
Node >=24. The full guide is docs/connector-guide.md in the Omnigate repository.
`;
}
