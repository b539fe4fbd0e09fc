import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT_DIR } from './gateway.ts';
import { startJsonServer } from './json-server.ts';
import { waitFor } from './wait.ts';

const DB = join(ROOT_DIR, 'test/fixtures/integrator/db.json');

test('json-server serves a temp copy of the fixture under its context path only, and stops', async () => {
  const server = await startJsonServer({ db: DB });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/shop\/api$/);
    const customer = await fetch(`${server.url}/customers/1`);
    assert.equal(customer.status, 200);
    assert.equal(((await customer.json()) as { name: string }).name, 'Ada Lovelace');
    assert.equal((await fetch(`${server.url}/customers/999`)).status, 404);
    assert.equal((await fetch(`${server.origin}/customers/1`)).status, 404, 'nothing outside the context path');
    const orders = (await (await fetch(`${server.url}/orders?customerId=1`)).json()) as { id: number }[];
    assert.deepEqual(orders.map((o) => o.id), [101, 102]);

    const created = await fetch(`${server.url}/customers`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Hedy Lamarr' }) });
    assert.equal(created.status, 201);
    await waitFor('json-server writing to its temp copy', () => readFileSync(server.dbFile, 'utf8').includes('Hedy Lamarr'));
    assert.doesNotMatch(readFileSync(DB, 'utf8'), /Hedy Lamarr/, 'the fixture never changes');
  } finally {
    await server.stop();
  }
  await assert.rejects(fetch(`${server.url}/customers/1`), 'nothing answers once stopped');
});
