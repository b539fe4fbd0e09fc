// `npm test` after the typecheck and the spec lint: every test file, on lanes that each have
// their own services (Redis, Kafka, the backends, Jaeger, at their own port offset), so that two
// files run at a time without sharing a backend's injected faults or a Kafka topic.
//
//   node scripts/test.ts                   every file: unit tests first, then test/**
//   node scripts/test.ts test/x.test.ts …  just these (with services)
//
// OMNIGATE_TEST_LANES (default: 2, or 1 on a one-core machine) sets the number of lanes; lane i
// runs at OMNIGATE_TEST_PORT_OFFSET + 300·i (300 keeps every port of every lane, and of the set-up
// test's own run 5000 below, apart: see test/support/ports.ts). Files run longest first, by the
// durations the last run wrote to .data/test-durations.json (by size on a fresh clone). Each file's
// output is printed whole when it ends; the failures are listed again at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { globSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LANE_PORT_STEP = 300;
/** A file still running after this long is stopped and counted as failed. */
const FILE_TIMEOUT_MS = 5 * 60_000;
/** How many lines of each failed file's output the summary repeats. */
const FAILURE_LINES = 60;
const DURATIONS_FILE = join(ROOT_DIR, '.data/test-durations.json');
const UNIT_GLOBS = ['src/**/*.test.ts', 'connectors/*/src/**/*.test.ts'];
const SERVICE_GLOBS = ['test/**/*.test.ts'];

interface FileResult { file: string; lane: string; ms: number; ok: boolean; tests: number; pass: number; fail: number; output: string }

const baseOffset = Number(process.env.OMNIGATE_TEST_PORT_OFFSET ?? 0);
const laneCount = Math.max(1, Number(process.env.OMNIGATE_TEST_LANES ?? Math.min(2, availableParallelism())));
const args = process.argv.slice(2);
const serviceFiles = orderLongestFirst(args.length ? args.map((f) => relative(ROOT_DIR, resolve(f))) : expand(SERVICE_GLOBS));
const runUnit = args.length === 0;
const children = new Set<ChildProcess>();
const results: FileResult[] = [];
const started = Date.now();
let aborted = false;
const say = (line: string): boolean => process.stdout.write(`${line}\n`);

process.once('SIGINT', () => abort('interrupted'));
process.once('SIGTERM', () => abort('terminated'));

say(`test: ${runUnit ? 'unit tests, then ' : ''}${serviceFiles.length} files on ${laneCount} lane(s) at port offsets ${Array.from({ length: laneCount }, (_, i) => baseOffset + i * LANE_PORT_STEP).join(', ')}`);
const lanes = Array.from({ length: laneCount }, (_, i) => startServices(i));
const unit = runUnit ? runTestFile(UNIT_GLOBS, 'unit', { OMNIGATE_TEST_PORT_OFFSET: String(baseOffset) }) : undefined;
let next = 0;
try {
  await Promise.all([
    unit?.then(report),
    ...lanes.map(async (lane) => {
      try {
        await lane.ready;
      } catch (err) {
        // The other lanes take its files; the run fails all the same.
        say(`test: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = 1;
        return;
      }
      for (let file = serviceFiles[next++]; file !== undefined && !aborted; file = serviceFiles[next++]) report(await runTestFile([file], lane.name, { OMNIGATE_TEST_PORT_OFFSET: String(lane.offset) }));
    }),
  ]);
} catch (err) {
  say(`test: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await Promise.all(lanes.map((lane) => lane.stop()));
}
summarise();

function report(result: FileResult): void {
  results.push(result);
  say(`\n── ${result.ok ? 'ok  ' : 'FAIL'} ${result.file} (${result.lane}, ${(result.ms / 1000).toFixed(1)} s) ──`);
  process.stdout.write(result.output);
}

function summarise(): void {
  const failed = results.filter((r) => !r.ok);
  const sum = (key: 'tests' | 'pass' | 'fail'): number => results.reduce((n, r) => n + r[key], 0);
  say(`\ntest: ${results.length} files, ${sum('tests')} tests, ${sum('pass')} passed, ${sum('fail')} failed, in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  for (const r of failed) say(`\n── FAILED ${r.file} (${r.fail} failed${r.tests ? '' : ', no summary: crashed or timed out'}) ──\n${failureExcerpt(r.output)}`);
  for (const r of failed) say(`test: FAILED ${r.file}`);
  const ran = new Set(results.map((r) => r.file));
  const notRun = serviceFiles.filter((f) => !ran.has(f));
  if (notRun.length) say(`test: NOT RUN ${notRun.length} files: ${notRun.join(' ')}`);
  if (failed.length || notRun.length || (runUnit && !ran.has(UNIT_GLOBS.join(' ')))) process.exitCode = 1;
  if (!args.length) saveDurations();
}

/**
 * What a failed file said about its failures, again at the end, where a CI log's tail shows it:
 * the spec reporter's "failing tests" section, or the output's last lines when it has none.
 */
function failureExcerpt(output: string): string {
  const at = output.lastIndexOf('✖ failing tests:');
  const lines = (at >= 0 ? output.slice(at) : output).trimEnd().split('\n');
  return (at >= 0 ? lines.slice(0, FAILURE_LINES) : lines.slice(-FAILURE_LINES)).join('\n');
}

/** One `node --test` run of these files (a glob or a path) with the lane's env; its output kept whole. */
function runTestFile(files: string[], lane: string, env: Record<string, string>): Promise<FileResult> {
  const t0 = Date.now();
  // Blocking stdout in every test process: with --test-force-exit a file's last verdicts could be
  // lost in the pipe to the runner (test/support/blocking-stdout.ts).
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', '--import', './test/support/blocking-stdout.ts', '--test', '--test-force-exit', '--test-reporter=spec', ...files], {
    cwd: ROOT_DIR,
    env: { ...process.env, NODE_COMPILE_CACHE: join(ROOT_DIR, '.data/node-compile-cache'), FORCE_COLOR: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => {
    output += `\ntest: stopped after ${FILE_TIMEOUT_MS / 1000} s\n`;
    child.kill('SIGKILL');
  }, FILE_TIMEOUT_MS);
  return new Promise((resolveRun) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      // The run's own summary is its last (a file may print a nested run's before it).
      const count = (label: string): number => Number([...output.matchAll(new RegExp(`^ℹ ${label} (\\d+)$`, 'gm'))].at(-1)?.[1] ?? 0);
      resolveRun({ file: files.join(' '), lane, ms: Date.now() - t0, ok: code === 0, tests: count('tests'), pass: count('pass'), fail: count('fail'), output });
    });
  });
}

interface Lane { name: string; offset: number; ready: Promise<void>; stop(): Promise<void> }

/** A lane's services (test/support/services.ts) at its port offset; `ready` once they all answer. */
function startServices(index: number): Lane {
  const offset = baseOffset + index * LANE_PORT_STEP;
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', 'test/support/services.ts'], {
    cwd: ROOT_DIR,
    env: { ...process.env, OMNIGATE_TEST_PORT_OFFSET: String(offset) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const ready = new Promise<void>((resolveReady, reject) => {
    let stdout = '';
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (stdout.includes('ready\n')) resolveReady();
    });
    child.once('exit', (code) => reject(new Error(`the services of lane ${index} (offset ${offset}) exited with ${code} before they were ready:\n${stderr}`)));
  });
  ready.catch(() => undefined);
  return {
    name: `lane ${index}`,
    offset,
    ready,
    async stop() {
      child.stdin?.end();
      await exited;
      children.delete(child);
    },
  };
}

function abort(why: string): void {
  aborted = true;
  say(`test: ${why}: stopping`);
  for (const child of children) child.kill('SIGTERM');
  setTimeout(() => process.exit(130), 20_000).unref();
}

function expand(globs: string[]): string[] {
  return globs.flatMap((g) => globSync(g, { cwd: ROOT_DIR, exclude: (f) => f.includes('node_modules') })).sort();
}

function orderLongestFirst(files: string[]): string[] {
  let known: Record<string, number> = {};
  try {
    known = JSON.parse(readFileSync(DURATIONS_FILE, 'utf8')) as Record<string, number>;
  } catch {
    // A fresh clone: no run yet, so longest source first.
  }
  const weight = (f: string): number => known[f] ?? statSync(join(ROOT_DIR, f)).size;
  return [...files].sort((a, b) => weight(b) - weight(a));
}

function saveDurations(): void {
  mkdirSync(dirname(DURATIONS_FILE), { recursive: true });
  writeFileSync(DURATIONS_FILE, JSON.stringify(Object.fromEntries(results.filter((r) => r.lane !== 'unit').map((r) => [r.file, r.ms])), null, 1));
}
