// The kit's conformance suite (describeConformance from omnigate/sdk/testing), run for every
// connector package in connectors/ against the real backends of this test run, through the kit's
// own fault proxy. What only this repository asks (folder and package scope) is checked here.
// A new connector passes it before it ships; see docs/connector-guide.md, "Testing your connector".
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isConnector } from '../../src/sdk/define-connector.ts';
import { describeConformance, describeError } from '../../src/sdk/testing/index.ts';
import { discoverConnectors, realConfig, type Candidate } from './support/harness.ts';
import { SAMPLES, SAMPLES_FILE } from './support/samples.ts';

for (const candidate of await discoverConnectors()) describeConnector(candidate);

function describeConnector(candidate: Candidate): void {
  const { exported, folder, pkg } = candidate;
  const n = isConnector(exported) ? exported.manifest.name : folder;
  describe(`connector ${n}`, () => {
    test(`${n}: exports defineConnector({...}) as its default export`, () => {
      assert.equal(candidate.importError, undefined, `connectors/${folder} could not be imported: ${describeError(candidate.importError)}`);
      assert.ok(isConnector(exported), `connectors/${folder}: the default export must be defineConnector({...})`);
    });
    if (!isConnector(exported)) return;

    test(`${n}: keeps its folder and package scope in step with the manifest`, () => {
      assert.equal(folder, exported.manifest.name, 'the folder under connectors/ must be named like manifest.name');
      assert.equal(pkg.name, `@omnigate/connector-${exported.manifest.name}`, 'packages in this repository are named @omnigate/connector-<name>');
    });

    test(`${n}: has sample params for every capability in ${SAMPLES_FILE}`, () => {
      const missing = exported.manifest.capabilities.map((c) => c.name).filter((name) => !SAMPLES[name]);
      assert.deepEqual(missing, [], `add samples for ${missing.join(', ')} to SAMPLES in ${SAMPLES_FILE} (ids from the shared seed)`);
    });

    const { config, problems } = realConfig(exported);
    test(`${n}: has settings for this test run`, () => {
      assert.deepEqual(problems, [], `settings come from connectorEnv in scripts/lib/backends.ts`);
    });

    describeConformance({ connector: exported, config, samples: SAMPLES, packageJson: pkg });
  });
}
