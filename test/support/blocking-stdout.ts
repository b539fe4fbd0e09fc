// Preloaded (`--import`) into every `node --test` process scripts/test.ts starts, and so into the
// process each test file runs in: their stdout and stderr write synchronously.
//
// A test file's process reports to the runner over a pipe, and writes to a pipe are asynchronous
// on Linux. With --test-force-exit the file's process exits as soon as its last test ends, and
// whatever was still queued in the pipe is lost: the runner then counts fewer tests than ran,
// and can lose a failed test's name and error while the exit code still says it failed
// (nodejs/node#64833). A full run once reported 1,003 unit tests of 1,034 that way. With
// blocking writes, nothing is left queued when the process exits.
for (const stream of [process.stdout, process.stderr]) {
  (stream as unknown as { _handle?: { setBlocking?: (blocking: boolean) => void } })._handle?.setBlocking?.(true);
}
