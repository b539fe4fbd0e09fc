// `npm run sdk:pack [-- --out-dir <dir>]`: builds the connector SDK (`omnigate/sdk`,
// `omnigate/sdk/testing`, the `omnigate-connector` CLI) and what it imports to JavaScript + type
// declarations with tsc (tsconfig.sdk.json), and packs it as the npm package an integrator
// installs: <out-dir>/omnigate-<version>.tgz (default .packs/). The tarball's absolute path is the
// last line printed. Exit 1: the build failed, or it pulled in what the SDK must not contain;
// 2: bad usage. Tests pack into a folder of their own with --out-dir.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ts from 'typescript';
import { forbiddenSources, repoPath, SDK_BIN_NAME, sdkDependencies, sdkManifest, sdkReadme, type RootManifest } from './lib/sdk-package.ts';

const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TSCONFIG = join(ROOT_DIR, 'tsconfig.sdk.json');
const SCHEMAS_DIR = join(ROOT_DIR, 'schemas');
const ENTRY_POINTS = ['src/sdk/index.ts', 'src/sdk/testing/index.ts', 'src/sdk/testing/cli.ts'];
const CLI_OUTPUT = 'dist/sdk/testing/cli.js';
const USAGE = 'usage: npm run sdk:pack [-- --out-dir <dir>]   (default .packs/)';

/** A reason the pack cannot be made, said once, without a stack; `exitCode` 2 for usage. */
class PackFailure extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

function parseOptions(): { outDir?: string | undefined; help?: boolean | undefined } {
  try {
    const { values } = parseArgs({ options: { 'out-dir': { type: 'string' }, help: { type: 'boolean' } } });
    return { outDir: values['out-dir'], help: values.help };
  } catch (err) {
    throw new PackFailure(`${(err as Error).message}\n${USAGE}`, 2);
  }
}

const formatHost: ts.FormatDiagnosticsHost = {
  getCanonicalFileName: (name) => name,
  getCurrentDirectory: () => ROOT_DIR,
  getNewLine: () => '\n',
};

function failOnDiagnostics(what: string, diagnostics: readonly ts.Diagnostic[]): void {
  if (diagnostics.length > 0) throw new PackFailure(`${what}:\n${ts.formatDiagnostics(diagnostics, formatHost)}`);
}

/** Compiles the SDK's entry points into `distDir`. */
function compile(distDir: string): void {
  const host: ts.ParseConfigFileHost = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => failOnDiagnostics('tsconfig.sdk.json', [diagnostic]),
  };
  const parsed = ts.getParsedCommandLineOfConfigFile(TSCONFIG, { outDir: distDir }, host);
  if (!parsed) throw new PackFailure('tsconfig.sdk.json could not be read');
  failOnDiagnostics('tsconfig.sdk.json', parsed.errors);
  const entries = parsed.fileNames.map((file) => repoPath(ROOT_DIR, file));
  const missing = ENTRY_POINTS.filter((entry) => !entries.includes(entry));
  if (missing.length > 0) throw new PackFailure(`the SDK's entry points are missing: ${missing.join(', ')}`);

  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  const sources = program
    .getSourceFiles()
    .filter((file) => !program.isSourceFileDefaultLibrary(file) && !program.isSourceFileFromExternalLibrary(file) && !file.fileName.includes('/node_modules/'))
    .map((file) => repoPath(ROOT_DIR, file.fileName));
  const forbidden = forbiddenSources(sources);
  if (forbidden.length > 0) {
    throw new PackFailure(`the SDK must stay importable without the gateway, but its imports reach:\n  ${forbidden.join('\n  ')}\nImport what the SDK needs from src/kernel/ or src/sdk/ instead.`);
  }
  failOnDiagnostics('the SDK does not compile', ts.getPreEmitDiagnostics(program));
  const emitted = program.emit();
  failOnDiagnostics('the SDK could not be emitted', emitted.diagnostics);
  if (emitted.emitSkipped) throw new PackFailure('tsc emitted nothing');
}

function emittedFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.js') || file.endsWith('.d.ts'))
    .map((file) => join(dir, file));
}

/**
 * Every emitted file's import specifiers (static, dynamic, type-only), keyed by its path in the
 * package. A relative one must name a file of the build (`.js`; `.ts` in a `.d.ts` names the `.d.ts`).
 */
function importsOf(packageDir: string): Map<string, string[]> {
  const imports = new Map<string, string[]>();
  for (const file of emittedFiles(join(packageDir, 'dist'))) {
    const specifiers = ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((ref) => ref.fileName);
    const name = repoPath(packageDir, file);
    for (const specifier of specifiers.filter((s) => s.startsWith('.'))) {
      const target = resolve(dirname(file), specifier.replace(/\.ts$/, '.d.ts'));
      if (!existsSync(target)) throw new PackFailure(`${name} imports '${specifier}', which the build does not contain`);
    }
    imports.set(name, specifiers);
  }
  return imports;
}

/** The bin keeps its `#!/usr/bin/env node` line and is executable. */
function prepareCli(packageDir: string): void {
  const cli = join(packageDir, CLI_OUTPUT);
  if (!readFileSync(cli, 'utf8').startsWith('#!')) throw new PackFailure(`src/sdk/testing/cli.ts must start with '#!/usr/bin/env node' to be the ${SDK_BIN_NAME} bin`);
  chmodSync(cli, 0o755);
}

function copySchemas(packageDir: string): void {
  const target = join(packageDir, 'schemas');
  mkdirSync(target);
  for (const file of readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.json'))) copyFileSync(join(SCHEMAS_DIR, file), join(target, file));
}

/**
 * `npm pack` of the staged package into `outDir`; the tarball's absolute path. Without the
 * `npm_*` variables of `npm run`, which point npm at the repository's root instead.
 */
function npmPack(packageDir: string, outDir: string): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  const output = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', outDir], { cwd: packageDir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const [packed] = JSON.parse(output) as { filename: string }[];
  if (!packed) throw new PackFailure('npm pack named no tarball');
  return join(outDir, packed.filename);
}

function main(): void {
  const options = parseOptions();
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const outDir = resolve(options.outDir ?? join(ROOT_DIR, '.packs'));
  const packageDir = join(outDir, 'build');
  rmSync(packageDir, { recursive: true, force: true });
  mkdirSync(packageDir, { recursive: true });

  compile(join(packageDir, 'dist'));
  prepareCli(packageDir);
  const root = JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as RootManifest;
  const deps = sdkDependencies(importsOf(packageDir), root);
  if (deps.problems.length > 0) throw new PackFailure(`the SDK imports packages it could not depend on:\n  ${deps.problems.join('\n  ')}`);
  copySchemas(packageDir);
  writeFileSync(join(packageDir, 'package.json'), `${JSON.stringify(sdkManifest(root, deps), null, 2)}\n`);
  writeFileSync(join(packageDir, 'README.md'), sdkReadme(root.version));
  console.log(`dependencies: ${Object.entries(deps.dependencies).map(([name, range]) => `${name}@${range}`).join(', ')}`);
  console.log(npmPack(packageDir, outDir));
}

try {
  main();
} catch (err) {
  if (!(err instanceof PackFailure)) throw err;
  console.error(`sdk:pack failed: ${err.message}`);
  process.exitCode = err.exitCode;
}
