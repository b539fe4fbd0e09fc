// /readyz follows a backend that stops answering its connector's health check while running, not
// only at load: the connector turns unhealthy (named, with the stage) and ready again once it answers.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setFault, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { waitFor } from '../support/wait.ts';

type Readiness = { status: string; connectors: { name: string; state: string; problem?: { stage: string } }[] };

let gw: TestGateway;
before(async () => {
  await setFault('crm', { mode: 'ok' });
  gw = await startTestGateway({ OMNIGATE_HEALTH_CHECK_INTERVAL_MS: '50', OMNIGATE_CONNECTOR_RETRY_MIN_MS: '50', OMNIGATE_CONNECTOR_RETRY_MAX_MS: '100' });
});
after(async () => {
  await setFault('crm', { mode: 'ok' });
  await gw?.stop();
});

const readiness = async (): Promise<Readiness> => (await (await fetch(`${gw.url}/readyz`)).json()) as Readiness;

test('a backend that stops answering health checks degrades /readyz, naming its connector; it is ready again once the backend answers', async () => {
  assert.equal((await readiness()).status, 'ready');
  // The CRM connector's health() is an authenticated read, which the fault breaks.
  await setFault('crm', { mode: 'error' });
  const degraded = await waitFor('readyz to name crm-python unhealthy', async () => {
    const r = await readiness();
    return r.status === 'degraded' && r.connectors.some((c) => c.name === 'crm-python' && c.state === 'unhealthy') && r;
  });
  assert.deepEqual(degraded.connectors.find((c) => c.name === 'crm-python')?.problem, { stage: 'health' });
  assert.ok(degraded.connectors.filter((c) => c.name !== 'crm-python').every((c) => c.state === 'ready'), 'only the failing connector is named');
  assert.ok(gw.logs.some((l) => l.connector === 'crm-python' && String(l.msg).includes('health check failed')), 'the log says so');

  await setFault('crm', { mode: 'ok' });
  await waitFor('readyz to be ready again', async () => (await readiness()).status === 'ready');
});
