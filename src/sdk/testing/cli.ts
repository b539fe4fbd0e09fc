#!/usr/bin/env node
// omnigate-connector: the test kit's command line, run from a connector's folder (its npm scripts
// "test" and "contract" call it). See docs/connector-guide.md, "Testing your connector".
import { spawn } from 'node:child_process';
import { globSync } from 'node:fs';

const USAGE = `usage: omnigate-connector <command> [options]

commands:
  test [node --test options]   runs the connector's tests with node --test: src/**/*.test.ts and
                               test/**/*.test.ts of this folder (not *.contract.test.ts), i.e. its
                               unit tests and its conformance suite; exit code = the tests' exit code
  contract [--update]          records the connector's Pact contract and verifies it against its backend
  --help                       this text`;

/** The test files of a connector folder: its unit tests and conformance suite, not its contract tests. */
const TEST_FILE_PATTERNS = ['src/**/*.test.ts', 'test/**/*.test.ts'] as const;
const CONTRACT_TEST = /\.contract\.test\.ts$/;

/** The files `omnigate-connector test` runs in `dir`, in a stable order. */
function testFilesIn(dir: string): string[] {
  return globSync([...TEST_FILE_PATTERNS], { cwd: dir }).filter((file) => !CONTRACT_TEST.test(file)).sort();
}

/** Runs `node --test` (this very Node) on the folder's test files; resolves to its exit code. */
function runTests(args: readonly string[], dir: string): Promise<number> {
  const files = testFilesIn(dir);
  if (files.length === 0) {
    process.stderr.write(`omnigate-connector test: no test files in ${dir} (looked for ${TEST_FILE_PATTERNS.join(', ')})\n`);
    return Promise.resolve(1);
  }
  // The child is a test run of its own, not a subtest of whatever started this command.
  const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
  const child = spawn(process.execPath, ['--test', '--test-force-exit', ...args, ...files], { cwd: dir, env, stdio: 'inherit' });
  return new Promise((resolve) => {
    child.once('error', (err) => {
      process.stderr.write(`omnigate-connector test: could not start node --test: ${err.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'test':
      return runTests(rest, process.cwd());
    case 'contract': {
      // Loaded only for this command: the contract kit brings Pact along.
      const { runContractCommand } = await import('./contract-command.ts');
      return runContractCommand(rest);
    }
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      process.stderr.write(`${command === undefined ? 'omnigate-connector: a command is needed' : `omnigate-connector: unknown command "${command}"`}\n${USAGE}\n`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
