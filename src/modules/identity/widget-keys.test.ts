import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { createWidgetKeys, customerHmac, isCustomerHmac } from './widget-keys.ts';

const SECRET = 'site-identity-secret-0123456789';

test('the identity proof is the hex HMAC-SHA256 of the customer id under the site secret, in either case', () => {
  const expected = createHmac('sha256', SECRET).update('42').digest('hex');
  assert.equal(customerHmac(SECRET, '42'), expected);
  assert.ok(isCustomerHmac(SECRET, '42', expected));
  assert.ok(isCustomerHmac(SECRET, '42', expected.toUpperCase()));
});

test('refuses the proof of another id, under another secret, truncated or empty', () => {
  const proof = customerHmac(SECRET, '42');
  assert.ok(!isCustomerHmac(SECRET, '43', proof));
  assert.ok(!isCustomerHmac('another-identity-secret-0123', '42', proof));
  assert.ok(!isCustomerHmac(SECRET, '42', proof.slice(0, 63)));
  assert.ok(!isCustomerHmac(SECRET, '42', ''));
});

test("allows a site's own origins only, compared as browsers send them", () => {
  const keys = createWidgetKeys([
    { name: 'shop', key: 'wk_shop_0123456789abcdef', origins: ['https://shop.example', 'http://localhost:3000'] },
    { name: 'blog', key: 'wk_blog_0123456789abcdef', origins: ['https://blog.example'] },
  ]);
  assert.ok(keys.originAllowed('shop', 'https://SHOP.example'));
  assert.ok(keys.originAllowed('shop', 'http://localhost:3000'));
  assert.ok(!keys.originAllowed('shop', 'https://blog.example'));
  assert.ok(!keys.originAllowed('shop', 'https://shop.example.evil.test'));
  assert.ok(!keys.originAllowed('nosuch', 'https://shop.example'));
  assert.ok(keys.anyAllows('https://blog.example') && !keys.anyAllows('https://evil.test'));
  assert.equal(keys.byKey('wk_blog_0123456789abcdef')?.name, 'blog');
});
