import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterEach, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { typeIndexKey } from '../../src/modules/webhooks/subscriptions.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TEST_REDIS_URL } from '../support/ports.ts';
import { assertMatchesSpec } from '../support/spec.ts';
import { waitFor } from '../support/wait.ts';

const ADMIN_KEY = 'admin-key-webhooks-0123456789';
const OTHER_KEY = 'other-key-webhooks-0123456789';
const SECRET = 'receiver-secret-0123456789abcdef';

interface Event {
  readonly id: string;
  readonly type: string;
  readonly specversion: string;
  readonly subject: string;
  readonly time: string;
  readonly data: { action: string };
}

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly event: Event;
  readonly status: number;
}

/**
 * A subscriber on loopback that answers each delivery with the status `answer` gives for its
 * event and the delivery's number for that event.
 */
async function receiver(answer: (event: Event, n: number) => number): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const event = JSON.parse(body) as Event;
      const status = answer(event, received.filter((d) => d.event.id === event.id).length + 1);
      received.push({ headers: req.headers, body, event, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hooks/omnigate`, received, server };
}

/** What a receiver does: recompute the Standard Webhooks signature, compare in constant time. */
function isSignedBy(secret: string, delivery: Received): boolean {
  const id = String(delivery.headers['webhook-id']);
  const timestamp = String(delivery.headers['webhook-timestamp']);
  const expected = Buffer.from(`v1,${createHmac('sha256', secret).update(`${id}.${timestamp}.${delivery.body}`).digest('base64')}`);
  return String(delivery.headers['webhook-signature'])
    .split(' ')
    .some((s) => Buffer.from(s).length === expected.length && timingSafeEqual(Buffer.from(s), expected));
}

const deliveries = (received: readonly Received[]) => JSON.stringify(received.map((d) => ({ status: d.status, id: d.headers['webhook-id'], body: d.body.slice(0, 400) })));

// The gateway's own start-up events may reach a subscription too (it is made while they are still
// in the outbox): each test follows the one reload it makes, after it subscribed.
const isReloadSince = (since: string) => (event: Event) => event.type === 'connector.changed' && event.data.action === 'reload' && event.time >= since;

const WAIT = { timeoutMs: 15_000 };

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function gateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const gw = await startTestGateway({
    OMNIGATE_API_KEYS: `test:test-key-0123456789abcdef,other:${OTHER_KEY}`,
    OMNIGATE_ADMIN_KEYS: `ops:${ADMIN_KEY}`,
    OMNIGATE_WEBHOOK_ALLOW_PRIVATE: 'true',
    OMNIGATE_JOB_BACKOFF_MS: '100',
    ...env,
  });
  cleanups.push(() => gw.stop());
  return gw;
}

async function subscribe(gw: TestGateway, body: Record<string, unknown>): Promise<{ id: string; url: string; types: string[]; createdAt: string }> {
  const res = await gw.api('/v1/webhooks/subscriptions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 201);
  const subscription = await assertMatchesSpec(res, 'createWebhookSubscription');
  // Subscriptions live in the shared Redis: remove them, so later tests' events do not reach this receiver.
  cleanups.push(() => gw.api(`/v1/webhooks/subscriptions/${subscription.id}`, { method: 'DELETE' }));
  return subscription;
}

const reload = (gw: TestGateway) => fetch(`${gw.url}/v1/admin/connectors/crm-python/reload`, { method: 'POST', headers: { 'x-api-key': ADMIN_KEY } });
const admin = (gw: TestGateway, path: string, init: RequestInit = {}) => gw.api(path, { ...init, headers: { 'x-api-key': ADMIN_KEY } });

describe('outgoing webhooks', () => {
  test('a delivery is signed, retried while the receiver fails, and sent once after it succeeds', async () => {
    const since = new Date().toISOString();
    const isMine = isReloadSince(since);
    const hook = await receiver((event, n) => (isMine(event) && n <= 2 ? 500 : 204));
    cleanups.push(() => new Promise((r) => hook.server.close(r)));
    const gw = await gateway();
    const subscription = await subscribe(gw, { url: hook.url, secret: SECRET, types: ['connector.changed'] });
    assert.equal((subscription as Record<string, unknown>).secret, undefined, 'the secret is never echoed');
    const listed = await assertMatchesSpec(await gw.api('/v1/webhooks/subscriptions'), 'listWebhookSubscriptions');
    assert.deepEqual(listed.subscriptions.filter((s: { id: string }) => s.id === subscription.id), [subscription]);

    assert.equal((await reload(gw)).status, 200);
    const mine = () => hook.received.filter((d) => isMine(d.event));
    await waitFor('the delivery answered 204', () => mine().some((d) => d.status === 204), WAIT);
    assert.deepEqual(mine().map((d) => d.status), [500, 500, 204], deliveries(hook.received));
    const delivery = mine()[2] as Received;
    const { event } = delivery;
    assert.deepEqual([event.specversion, event.type, event.subject, event.data.action], ['1.0', 'connector.changed', 'crm-python', 'reload']);
    assert.equal(delivery.headers['content-type'], 'application/cloudevents+json');
    assert.ok(mine().every((d) => d.headers['webhook-id'] === event.id), 'every attempt carries the event id');
    assert.ok(Math.abs(Number(delivery.headers['webhook-timestamp']) - Date.now() / 1000) < 60);
    assert.ok(isSignedBy(SECRET, delivery), 'the signature verifies with the secret');
    assert.ok(!isSignedBy('another-secret-0123456789', delivery));

    // The job is completed, with its three attempts, and readable by the subscription's owner
    // (the receiver sees the 204 a moment before the worker records the completion).
    const job = await waitFor('the delivery job completed', async () => {
      const completed = await assertMatchesSpec(await admin(gw, '/v1/admin/jobs?state=completed&queue=webhook-delivery'), 'listJobs');
      return completed.jobs.find((j: { webhook: { eventId: string } }) => j.webhook.eventId === event.id);
    }, WAIT);
    assert.deepEqual([job.type, job.attempts, job.result], ['webhook.delivery', 3, { delivered: true, status: 204 }]);
    assert.equal(job.webhook.subscriptionId, subscription.id);
    assert.equal((await assertMatchesSpec(await gw.api(`/v1/jobs/${job.id}`), 'getJob')).state, 'completed');

    // The same event handed over again is not delivered again.
    await gw.events.publish([JSON.parse(delivery.body)]);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(mine().length, 3, deliveries(hook.received));
  });

  test('a delivery that keeps failing is dead-lettered, and an admin retry delivers it', async () => {
    let isUp = false;
    const isMine = isReloadSince(new Date().toISOString());
    const hook = await receiver((event) => (isMine(event) && !isUp ? 503 : 200));
    cleanups.push(() => new Promise((r) => hook.server.close(r)));
    const gw = await gateway({ OMNIGATE_JOB_ATTEMPTS: '2' });
    await subscribe(gw, { url: hook.url, secret: SECRET, types: ['*'] });
    assert.equal((await reload(gw)).status, 200);

    const mine = () => hook.received.filter((d) => isMine(d.event));
    let dead: { id: string; attempts: number; error: { code: string; detail: string } } | undefined;
    await waitFor('both failed deliveries', () => mine().length >= 2, WAIT);
    for (let i = 0; i < 50 && !dead; i++) {
      const listed = await assertMatchesSpec(await admin(gw, '/v1/admin/jobs?state=dead&queue=webhook-delivery'), 'listJobs');
      dead = listed.jobs.find((j: { webhook: { eventId: string } }) => j.webhook.eventId === mine()[0]?.event.id);
      if (!dead) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(dead, 'the delivery is in the dead letters');
    assert.equal(dead.attempts, 2);
    assert.equal(dead.error.code, 'UPSTREAM_UNAVAILABLE');
    assert.match(dead.error.detail, /503/);

    isUp = true;
    const retried = await admin(gw, `/v1/admin/jobs/${dead.id}/retry`, { method: 'POST' });
    assert.equal(retried.status, 200);
    await assertMatchesSpec(retried, 'retryJob');
    await waitFor('the retried delivery answered 200', () => mine().some((d) => d.status === 200), WAIT);
    assert.deepEqual(mine().map((d) => d.status), [503, 503, 200]);
    assert.ok(isSignedBy(SECRET, mine()[2] as Received));
  });

  test('a receiver that refuses with a 4xx fails the delivery at once', async () => {
    const isMine = isReloadSince(new Date().toISOString());
    const hook = await receiver((event) => (isMine(event) ? 410 : 204));
    cleanups.push(() => new Promise((r) => hook.server.close(r)));
    const gw = await gateway();
    const subscription = await subscribe(gw, { url: hook.url, secret: SECRET, types: ['connector.changed'] });
    assert.equal((await reload(gw)).status, 200);
    const mine = () => hook.received.filter((d) => isMine(d.event));
    await waitFor('the first delivery', () => mine().length >= 1, WAIT);
    let dead: { attempts: number; error: { code: string }; webhook: { subscriptionId: string; eventId: string } } | undefined;
    for (let i = 0; i < 50 && !dead; i++) {
      const listed = await assertMatchesSpec(await admin(gw, '/v1/admin/jobs?state=dead&queue=webhook-delivery'), 'listJobs');
      dead = listed.jobs.find((j: { webhook: { eventId: string } }) => j.webhook.eventId === mine()[0]?.event.id);
      if (!dead) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual([dead?.attempts, dead?.error.code, dead?.webhook.subscriptionId], [1, 'WEBHOOK_REJECTED', subscription.id]);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(mine().length, 1, deliveries(hook.received));
  });
});

describe('webhook subscriptions', () => {
  test('refuse private addresses unless allowed, other schemes and short secrets', async () => {
    const gw = await gateway({ OMNIGATE_WEBHOOK_ALLOW_PRIVATE: 'false' });
    const post = (body: Record<string, unknown>) => gw.api('/v1/webhooks/subscriptions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const url of ['http://127.0.0.1:9/hook', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/hook', 'http://10.0.0.8/hook']) {
      const res = await post({ url, secret: SECRET, types: ['*'] });
      assert.equal(res.status, 400, url);
      const problem = await assertMatchesSpec(res, 'createWebhookSubscription');
      assert.equal(problem.code, 'VALIDATION_FAILED');
      assert.equal(problem.errors[0].pointer, '/url');
      assert.match(problem.detail, /private/);
    }
    for (const body of [{ url: 'ftp://93.184.215.14/hook', secret: SECRET, types: ['*'] }, { url: 'https://93.184.215.14/hook', secret: 'short', types: ['*'] }, { url: 'https://93.184.215.14/hook', secret: SECRET, types: ['Not A Type'] }]) {
      const res = await post(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      await assertMatchesSpec(res, 'createWebhookSubscription');
    }
    // A public address is fine (nothing is sent: no event of this type happens).
    await subscribe(gw, { url: 'https://93.184.215.14/hook', secret: SECRET, types: ['nothing.happened'] });
  });

  test('belong to the key that made them', async () => {
    const gw = await gateway();
    const mine = await subscribe(gw, { url: 'http://127.0.0.1:9/mine', secret: SECRET, types: ['ticket.created'] });
    const theirs = await gw.api('/v1/webhooks/subscriptions', { headers: { 'x-api-key': OTHER_KEY } });
    assert.ok(!(await assertMatchesSpec(theirs, 'listWebhookSubscriptions')).subscriptions.some((s: { id: string }) => s.id === mine.id));
    const foreign = await gw.api(`/v1/webhooks/subscriptions/${mine.id}`, { method: 'DELETE', headers: { 'x-api-key': OTHER_KEY } });
    assert.equal(foreign.status, 404);
    await assertMatchesSpec(foreign, 'deleteWebhookSubscription');
    // 204 has no body for assertMatchesSpec to check; the spec documents it.
    assert.equal((await gw.api(`/v1/webhooks/subscriptions/${mine.id}`, { method: 'DELETE' })).status, 204);
    const after = await assertMatchesSpec(await gw.api('/v1/webhooks/subscriptions'), 'listWebhookSubscriptions');
    assert.ok(!after.subscriptions.some((s: { id: string }) => s.id === mine.id));
  });
});

describe('webhook subscriptions at scale', () => {
  test('refuse a key past its limit with 409 SUBSCRIPTION_LIMIT_REACHED, and not another key', async () => {
    // Names of this run only: subscriptions outlive a gateway in the shared Redis.
    const capped = `capped-key-${process.pid}-0123456789`;
    const gw = await gateway({ OMNIGATE_API_KEYS: `capped${process.pid}:${capped},other:${OTHER_KEY}`, OMNIGATE_WEBHOOK_MAX_PER_KEY: '2' });
    const post = (key: string) => gw.api('/v1/webhooks/subscriptions', { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', secret: SECRET, types: ['nothing.happened'] }) });
    const made: string[] = [];
    cleanups.push(async () => Promise.all(made.map((id) => gw.api(`/v1/webhooks/subscriptions/${id}`, { method: 'DELETE', headers: { 'x-api-key': capped } }))));
    for (let i = 0; i < 2; i++) {
      const res = await post(capped);
      assert.equal(res.status, 201);
      made.push(((await res.json()) as { id: string }).id);
    }
    const refused = await post(capped);
    assert.equal(refused.status, 409);
    const problem = await assertMatchesSpec(refused, 'createWebhookSubscription');
    assert.deepEqual([problem.code, problem.limit], ['SUBSCRIPTION_LIMIT_REACHED', 2]);
    const theirs = await post(OTHER_KEY);
    assert.equal(theirs.status, 201);
    const theirId = ((await theirs.json()) as { id: string }).id;
    cleanups.push(() => gw.api(`/v1/webhooks/subscriptions/${theirId}`, { method: 'DELETE', headers: { 'x-api-key': OTHER_KEY } }));
    // Deleting one frees its place.
    assert.equal((await gw.api(`/v1/webhooks/subscriptions/${made.shift()}`, { method: 'DELETE', headers: { 'x-api-key': capped } })).status, 204);
    const again = await post(capped);
    assert.equal(again.status, 201);
    made.push(((await again.json()) as { id: string }).id);
  });

  test('are indexed by event type, so an event loads only the subscriptions to its type and to every type', async () => {
    const gw = await gateway();
    const redis = new Redis(TEST_REDIS_URL);
    cleanups.push(async () => redis.disconnect());
    const typed = await subscribe(gw, { url: 'http://127.0.0.1:9/typed', secret: SECRET, types: ['ticket.created', 'ticket.updated'] });
    const every = await subscribe(gw, { url: 'http://127.0.0.1:9/every', secret: SECRET, types: ['*'] });
    assert.equal(await redis.sismember(typeIndexKey('ticket.created'), typed.id), 1);
    assert.equal(await redis.sismember(typeIndexKey('ticket.updated'), typed.id), 1);
    assert.equal(await redis.sismember(typeIndexKey('*'), every.id), 1);
    assert.equal(await redis.sismember(typeIndexKey('*'), typed.id), 0, 'a typed subscription is not loaded for other types');
    assert.equal(await redis.sismember(typeIndexKey('ticket.created'), every.id), 0);
    assert.equal((await gw.api(`/v1/webhooks/subscriptions/${typed.id}`, { method: 'DELETE' })).status, 204);
    assert.equal(await redis.sismember(typeIndexKey('ticket.created'), typed.id), 0, 'deleting removes it from the index');
    assert.equal(await redis.sismember(typeIndexKey('ticket.updated'), typed.id), 0);
  });

  test('made before the indexes existed are indexed once at the next start', async () => {
    const redis = new Redis(TEST_REDIS_URL);
    cleanups.push(async () => redis.disconnect());
    const legacy = { id: `whs_legacy${process.pid}`, owner: 'test', url: 'http://127.0.0.1:9/legacy', secret: SECRET, types: ['order.status_changed'], createdAt: new Date().toISOString() };
    // As an older gateway stored it: in the hash only.
    await redis.hset('omnigate:webhooks:subscriptions', legacy.id, JSON.stringify(legacy));
    await redis.del('omnigate:webhooks:indexed');
    const gw = await gateway();
    cleanups.push(() => gw.api(`/v1/webhooks/subscriptions/${legacy.id}`, { method: 'DELETE' }));
    const listed = await assertMatchesSpec(await gw.api('/v1/webhooks/subscriptions'), 'listWebhookSubscriptions');
    assert.ok(listed.subscriptions.some((s: { id: string }) => s.id === legacy.id), 'its owner still lists it');
    assert.equal(await redis.sismember(typeIndexKey('order.status_changed'), legacy.id), 1, 'events of its type reach it');
  });
});
