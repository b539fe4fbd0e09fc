// omnigate-connector, run as a connector's npm scripts run it: a child process in the connector's folder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

const CLI = join(dirname(fileURLToPath(import.meta.url)), 'cli.ts');
const ROOT_DIR = join(dirname(CLI), '../../..');
const PASSING = "import { test } from 'node:test';\ntest('passes', () => {});\n";
const FAILING = "import { test } from 'node:test';\ntest('fails on purpose', () => { throw new Error('planted failure'); });\n";

let dir: string;

function cli(cwd: string, ...args: string[]) {
  const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
  const run = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env, timeout: 60_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, all: `${run.stdout}\n${run.stderr}` };
}

/** A connector-like folder with the given files (path → content). */
function folder(name: string, files: Readonly<Record<string, string>>): string {
  const root = join(dir, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

before(() => {
  mkdirSync(join(ROOT_DIR, '.data'), { recursive: true });
  dir = mkdtempSync(join(ROOT_DIR, '.data/kit-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('test runs src/**/*.test.ts and test/**/*.test.ts of the folder, not contract tests, and exits 0 when they pass', () => {
  const root = folder('green', {
    'src/mappers/to-thing.test.ts': PASSING.replace('passes', 'unit passes'),
    'test/conformance.test.ts': PASSING.replace('passes', 'conformance passes'),
    'test/backend.contract.test.ts': FAILING,
    'src/not-a-test.ts': 'throw new Error("never imported");\n',
  });
  const run = cli(root, 'test');
  assert.equal(run.status, 0, run.all);
  assert.match(run.stdout, /unit passes/);
  assert.match(run.stdout, /conformance passes/);
  assert.doesNotMatch(run.all, /planted failure|fails on purpose/);
});

test('test exits with the tests\' exit code when one fails, and forwards node --test options', () => {
  const root = folder('red', { 'src/a.test.ts': PASSING, 'test/b.test.ts': FAILING });
  const run = cli(root, 'test');
  assert.equal(run.status, 1, run.all);
  assert.match(run.stdout, /fails on purpose/);
  const only = cli(root, 'test', '--test-name-pattern=^passes$');
  assert.equal(only.status, 0, only.all);
  assert.doesNotMatch(only.stdout, /✖/);
});

test('test refuses a folder without test files, saying where it looked', () => {
  const run = cli(folder('empty', { 'src/index.ts': 'export {};\n' }), 'test');
  assert.equal(run.status, 1);
  assert.match(run.stderr, /no test files in .* \(looked for src\/\*\*\/\*\.test\.ts, test\/\*\*\/\*\.test\.ts\)/);
});

test('--help prints the usage and exits 0; an unknown or missing command prints it and exits 2', () => {
  const help = cli(dir, '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: omnigate-connector <command>/);
  assert.match(help.stdout, /^ {2}test /m);
  assert.match(help.stdout, /^ {2}contract /m);
  const unknown = cli(dir, 'deploy');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command "deploy"\nusage: omnigate-connector/);
  const none = cli(dir);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /a command is needed\nusage:/);
});
