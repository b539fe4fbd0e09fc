import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signWebhook, verifyWebhook } from './signature.ts';

// The example of the Standard Webhooks specification (its reference libraries sign it so).
const SPEC_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SPEC_ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const SPEC_TS = 1614265330;
const SPEC_BODY = '{"test": 2432232314}';

test('signs as the Standard Webhooks reference does for a whsec_ secret', () => {
  assert.equal(signWebhook(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY), 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
});

test('verifies its own signature among several and refuses a changed body, id or timestamp', () => {
  const secret = 'a-plain-secret-of-32-characters!';
  const header = `v1,bm90IGl0 ${signWebhook(secret, 'evt-1', 1700000000, '{"a":1}')}`;
  assert.equal(verifyWebhook(secret, 'evt-1', 1700000000, '{"a":1}', header), true);
  assert.equal(verifyWebhook(secret, 'evt-1', 1700000000, '{"a":2}', header), false);
  assert.equal(verifyWebhook(secret, 'evt-2', 1700000000, '{"a":1}', header), false);
  assert.equal(verifyWebhook(secret, 'evt-1', 1700000001, '{"a":1}', header), false);
});
