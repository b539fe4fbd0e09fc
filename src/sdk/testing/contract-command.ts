/**
 * `omnigate-connector contract [--update]`: records the connector's Pact contract and verifies it
 * against its real backend. A placeholder until the contract kit lands: it says so and exits 2.
 *
 * @returns the exit code of the command.
 */
export async function runContractCommand(_argv: readonly string[]): Promise<number> {
  process.stderr.write('contract tests: not built yet\n');
  return 2;
}
