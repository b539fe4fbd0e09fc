// The services of one test lane (scripts/test.ts): what global-setup.ts starts, at this process's
// OMNIGATE_TEST_PORT_OFFSET, held until stdin closes or SIGTERM, then stopped. Writes `ready`
// on stdout once everything answers; exits non-zero (having stopped what did start) if not.
import { globalSetup, globalTeardown } from './global-setup.ts';

const setup = globalSetup();
let stopping: Promise<void> | undefined;
function stop(code: number): Promise<void> {
  // Asked to stop while starting: let the start finish (or fail), then stop all of it.
  stopping ??= setup.catch(() => undefined).then(globalTeardown).then(
    () => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`test services: teardown failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
  return stopping;
}

process.once('SIGTERM', () => void stop(0));
process.once('SIGINT', () => void stop(0));
// The runner holds our stdin: when it goes (even killed), so do we.
process.stdin.on('data', () => undefined);
process.stdin.once('end', () => void stop(0));

try {
  await setup;
  process.stdout.write('ready\n');
} catch (err) {
  // globalSetup stopped what it had started before throwing.
  process.stderr.write(`test services: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
}
